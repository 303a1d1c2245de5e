"""One training run: data on the device, batched augmentation, SGD with warm-up + cosine,
mixed precision on CUDA, per-class evaluation and checkpoints."""

from .loop import TrainResult, evaluate, fit, lr_at

__all__ = ["TrainResult", "evaluate", "fit", "lr_at"]
