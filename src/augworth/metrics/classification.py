"""Accuracy, per-class accuracy and the confusion matrix."""

from __future__ import annotations

import torch


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Counts C[i, j] = number of examples of true class i predicted as j (int64, on the CPU)."""
    pred, target = pred.detach().long().cpu(), target.detach().long().cpu()
    if pred.shape != target.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    flat = torch.bincount(target * num_classes + pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def per_class_accuracy(cm: torch.Tensor) -> torch.Tensor:
    """Recall of each true class: C[i, i] / sum_j C[i, j] (NaN for a class with no examples)."""
    cm = cm.double()
    return torch.diagonal(cm) / cm.sum(dim=1)


def accuracy(cm: torch.Tensor) -> float:
    return float(torch.diagonal(cm).sum() / cm.sum())
