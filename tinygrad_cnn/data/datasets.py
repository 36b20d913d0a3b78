"""The datasets, under the name torchvision gives their module: ``from tinygrad_cnn.data import datasets`` then
``datasets.MNIST(root, train=True, transform=..., download=True)``."""

from .digits import Digits
from .loader import ArrayDataset
from .mnist import MNIST
from .vision import VisionArrayDataset

__all__ = ["MNIST", "ArrayDataset", "Digits", "VisionArrayDataset"]
