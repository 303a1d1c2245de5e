"""Named seed streams: every random draw of the package derives its generator's seed from a
training seed (or a fixed chapter seed) and a stream name, here, in one table.

The offsets are the ones the shipped results were computed with; a stream's seed is
``scale * seed + offset``. Streams that share an offset seed different generators for different
draws (a subset's class counts and a model's augmentations, say), never the same draw twice.
"""

from __future__ import annotations

#: stream -> (scale, offset): seed of the stream = scale * seed + offset.
STREAMS: dict[str, tuple[int, int]] = {
    "shuffle": (1, 0),               # train: batch order (and the model's initialisation)
    "augmentation": (1, 1),          # train: augmentation draws
    "subset counts": (1, 1),         # data: how a class-balanced subset's remainder is spread over classes
    "test images": (1, 1),           # sample_complexity: which test images are measured
    "draws": (1, 2),                 # sample_complexity: Monte Carlo draws of the augmentation
    "no-sampling draws": (1, 3),     # sample_complexity: the no-sampling experiment's draws
    "moments draws": (1, 3),         # worth: Monte Carlo draws checking the closed-form moments
    "gradient noise": (1, 7),        # flatness: augmentation draws of the gradient-noise estimates
    "no-sampling subset": (1, 7),    # sample_complexity: the no-sampling experiment's training images
    "probe draws": (1, 99),          # saliency: Monte Carlo draws of the probe augmentation
    "directions": (1000, 0),         # flatness: random direction k of a model is this + k
    "corruptions": (1000, 0),        # corruptions: this + 10 * corruption index + severity
}


def seed_stream(seed: int, stream: str) -> int:
    """The seed of ``stream`` for ``seed`` (see :data:`STREAMS`)."""
    try:
        scale, offset = STREAMS[stream]
    except KeyError:
        raise KeyError(f"unknown seed stream {stream!r}: known are {', '.join(sorted(STREAMS))}") from None
    return scale * seed + offset
