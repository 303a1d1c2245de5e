"""Pure functions of models, data and numbers: no files, no training."""

from .classification import accuracy, confusion_matrix, per_class_accuracy

__all__ = ["accuracy", "confusion_matrix", "per_class_accuracy"]
