"""Many models in one program: K models of one architecture trained side by side, as one
batched computation (``torch.func.vmap`` over their stacked parameters, which lowers to grouped
convolutions).

On a GPU this is the lever for sweeps of small models (one model leaves most of the device
idle; HFTA reports up to 15x training throughput from fusing models this way). On a CPU it
gains nothing (measured: 0.83-1.25x per model), so the CPU's role is correctness: every model
keeps its own seed, training subset (of any size), augmentation spec and draws, shuffling,
normalisation and BatchNorm statistics, exactly as :func:`augworth.train.loop.fit` would give
it, and ``tests/test_packed.py`` checks that K packed runs equal K separate runs to
floating-point tolerance.

Models are *compatible* (packable) when everything that shapes the shared computation agrees:
architecture, width, step budget, batch size and the optimiser's schedule (:func:`pack_key`).
"""

from __future__ import annotations

import copy
import time

import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap

from ..augment import build as build_augment
from ..config import TrainConfig, class_policies
from ..models import build_model
from ..seeds import seed_stream
from .loop import TrainResult, _augment, evaluate, lr_at, schedule

# Fields that must agree for models to share one batched computation.
SHARED = ("model", "width", "batch_size", "lr", "momentum", "nesterov", "weight_decay", "warmup_frac", "decay",
          "stem", "dirac_init", "bn_bias_lr", "bn_scale", "label_smoothing", "invariance", "amp", "tta_flip")


def pack_key(cfg: TrainConfig, n: int) -> tuple:
    """Models with equal keys can be packed: same architecture, batch, schedule and step count."""
    bs, total = schedule(cfg, n)
    return tuple(getattr(cfg, f) for f in SHARED) + (total, bs)


class _Member:
    """One model's own state: data, normalisation, augmentation, generators, epoch position."""

    def __init__(self, cfg: TrainConfig, x: torch.Tensor, y: torch.Tensor, device):
        if cfg.fixed_copies or cfg.checkpoints or cfg.compile:
            raise ValueError("packed training supports neither fixed_copies, checkpoints nor compile: "
                             "train such cells one at a time")
        if cfg.stem != "conv" or cfg.dirac_init or cfg.bn_bias_lr != 1.0 or cfg.bn_scale != "learned":
            raise ValueError("packed training supports today's recipe only (stem conv, no Dirac init, BatchNorm "
                             "as learned): train such cells one at a time")
        self.cfg = cfg
        self.x, self.y = x.to(device), y.to(device)
        self.n = len(self.x)
        c = self.x.shape[1]
        xf = self.x.float() / 255.0
        self.mean = xf.mean(dim=(0, 2, 3)).view(1, c, 1, 1)
        self.std = xf.std(dim=(0, 2, 3)).clamp_min(1e-3).view(1, c, 1, 1)
        self.policy = build_augment(cfg.augment)
        self.per_class = [(build_augment(spec), torch.tensor(classes, device=device))
                          for spec, classes in class_policies(cfg.class_augment).items()]
        self.aug_gen = torch.Generator(device=device).manual_seed(seed_stream(cfg.seed, "augmentation"))  # as fit
        self.shuffle_gen = torch.Generator(device="cpu").manual_seed(seed_stream(cfg.seed, "shuffle"))
        self.bs = min(cfg.batch_size, self.n)
        self.per_epoch = self.n // self.bs
        self.b = self.per_epoch  # forces a permutation at the first step
        self.perm = None
        self.history: list[dict] = []
        self._open_epoch()

    def _open_epoch(self):
        self.loss_sum, self.correct, self.seen, self.t0 = 0.0, 0, 0, time.perf_counter()

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.b >= self.per_epoch:
            self.perm = torch.randperm(self.n, generator=self.shuffle_gen).to(self.x.device)
            self.b = 0
        idx = self.perm[self.b * self.bs : (self.b + 1) * self.bs]
        self.b += 1
        yb = self.y[idx]
        xb = _augment(self.x[idx].float() / 255.0, yb, self.policy, self.per_class, self.aug_gen)
        return (xb - self.mean) / self.std, yb

    def log(self, loss: float, correct: int, step: int, total: int):
        self.loss_sum += loss * self.bs
        self.correct += correct
        self.seen += self.bs
        if self.b >= self.per_epoch or step == total:
            self.history.append({"epoch": len(self.history) + 1, "step": step, "train_loss": self.loss_sum / self.seen,
                                 "train_acc": self.correct / self.seen,
                                 "lr": lr_at(step - 1, total, self.cfg.lr, self.cfg.warmup_frac, self.cfg.decay),
                                 "seconds": time.perf_counter() - self.t0})
            self._open_epoch()


def fit_packed(cfgs: list[TrainConfig], data: list[tuple[torch.Tensor, torch.Tensor]], num_classes: int,
               eval_sets: list[dict] | dict | None = None, *, device=None) -> list[TrainResult]:
    """Train ``len(cfgs)`` compatible models at once; model k on ``data[k]`` (uint8 x, labels)
    with ``cfgs[k]``, evaluated at the end on ``eval_sets[k]`` (or one dict for all). Returns one
    :class:`TrainResult` per model, as :func:`augworth.train.loop.fit` would (its
    ``train_seconds`` is the shared wall time divided by K)."""
    if not cfgs:
        return []
    device = torch.device(device) if device is not None else data[0][0].device
    keys = {pack_key(c, len(x)) for c, (x, _) in zip(cfgs, data)}
    if len(keys) != 1:
        raise ValueError(f"cells are not compatible for packing (they differ in {SHARED} or step count): {keys}")
    cfg0 = cfgs[0]
    members = [_Member(c, x, y, device) for c, (x, y) in zip(cfgs, data)]
    c, h, _ = members[0].x.shape[1:]
    models = [build_model(cfg.model, in_channels=c, num_classes=num_classes, image_size=h, width=cfg.width,
                          seed=cfg.seed).to(device) for cfg in cfgs]
    from ..models.invariant import make_invariant

    models = [make_invariant(m, cfg0.invariance).to(device) for m in models]
    params, buffers = stack_module_state(models)  # leaves (K, ...) with requires_grad
    base = copy.deepcopy(models[0]).to("meta")

    def forward(p, b, x):
        return functional_call(base, (p, b), (x,))

    batched = vmap(forward)
    opt = torch.optim.SGD(list(params.values()), lr=cfg0.lr, momentum=cfg0.momentum,
                          nesterov=cfg0.nesterov and cfg0.momentum > 0, weight_decay=cfg0.weight_decay)
    cuda = device.type == "cuda"
    autocast = cfg0.amp == "bf16" or (cfg0.amp == "auto" and cuda)
    _, total = schedule(cfg0, members[0].n)
    start = time.perf_counter()
    base.train()
    for step in range(total):
        xs, ys = zip(*(m.batch() for m in members))
        xb, yb = torch.stack(xs), torch.stack(ys)  # (K, bs, C, H, W), (K, bs)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, total, cfg0.lr, cfg0.warmup_frac, cfg0.decay)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast):
            logits = batched(params, buffers, xb).float()
        losses = torch.stack([F.cross_entropy(logits[k], yb[k], label_smoothing=cfg0.label_smoothing)
                              for k in range(len(members))])
        opt.zero_grad(set_to_none=True)
        losses.sum().backward()  # each model's parameters get the gradient of its own loss
        opt.step()
        correct = (logits.detach().argmax(-1) == yb).sum(-1).tolist()
        for k, m in enumerate(members):
            m.log(float(losses[k].detach()), correct[k], step + 1, total)
    if cuda:
        torch.cuda.synchronize(device)
    wall = time.perf_counter() - start
    results = []
    for k, (m, model) in enumerate(zip(members, models)):
        with torch.no_grad():
            state = {name: t[k].detach().clone() for name, t in {**params, **buffers}.items()}
        model.load_state_dict(state)
        res = TrainResult(model, history=m.history, train_seconds=wall / len(members), images_seen=total * m.bs,
                          normalisation=(m.mean, m.std))
        sets = eval_sets[k] if isinstance(eval_sets, list) else (eval_sets or {})
        for name, (x, y) in sets.items():
            res.final[name] = evaluate(model, x.to(device), y.to(device), num_classes, m.mean, m.std,
                                       tta_flip=m.cfg.tta_flip, autocast=autocast)
        results.append(res)
    return results


__all__ = ["fit_packed", "pack_key", "SHARED"]
