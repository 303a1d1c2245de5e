"""Pure functions of models, data and numbers: no files, no training.

Modules: classification (accuracy, confusion), da_moments (loss moments under augmentation),
grads (per-sample gradients), saliency (A4), hessian and landscape (C5), stats (intervals over seeds)."""

from .classification import accuracy, confusion_matrix, per_class_accuracy

__all__ = ["accuracy", "confusion_matrix", "per_class_accuracy"]
