"""Data sets as uint8 tensors, class-balanced seeded subsets, and the fixed validation split."""

from .datasets import FASHION_MNIST_CLASSES, ImageDataset, load_dataset, load_from_params
from .sources import DataNotFoundError, fetch
from .subsets import VALIDATION_SEED, balanced_indices, class_counts, train_val_split

__all__ = ["ImageDataset", "load_dataset", "load_from_params", "FASHION_MNIST_CLASSES",
           "DataNotFoundError", "fetch", "balanced_indices", "train_val_split", "class_counts",
           "VALIDATION_SEED"]
