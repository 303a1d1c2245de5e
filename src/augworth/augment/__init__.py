"""Augmentations applied to whole batches on the device, with different random parameters for
every image in the batch (torchvision's v2 transforms draw once per call).

This module holds the batched training-time policies; the closed-form moments of linear
augmentations live beside it (paper A chapters).
"""

from .batch import POLICIES, Policy, make_policy, random_crop, random_flip

__all__ = ["POLICIES", "Policy", "make_policy", "random_crop", "random_flip"]
