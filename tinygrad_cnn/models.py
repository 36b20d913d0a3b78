"""Two ready CNNs for (N, 1, 28, 28) images and 10 classes, returning logits (N, 10).

* :class:`SeedCNN`, the tutorial network: conv 2@5x5 -> relu -> max-pool 2 -> flatten (2*12*12 = 288)
  -> linear 60 -> relu -> linear 10. 18,002 parameters.
* :class:`LeNet5`: conv 6@5x5 (padding 2) -> relu -> max-pool 2 -> conv 16@5x5 -> relu -> max-pool 2
  -> flatten (16*5*5 = 400) -> linear 120 -> relu -> linear 84 -> relu -> linear 10. 61,706 parameters.

``MODELS`` maps the command line's names to the classes.
"""

from __future__ import annotations

from . import nn
from .tensor_class import Tensor


class SeedCNN(nn.Module):
    """The tutorial CNN: 28x28 -conv5-> 2x24x24 -pool2-> 2x12x12 -> 288 -> 60 -> 10."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, kernel_size=5)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(2 * 12 * 12, 60)
        self.fc2 = nn.Linear(60, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool(self.conv(x).relu())
        x = x.flatten(1)
        return self.fc2(self.fc1(x).relu())


class LeNet5(nn.Module):
    """LeNet-5 with ReLU and max-pooling: 28x28 -> 6x28x28 -> 6x14x14 -> 16x10x10 -> 16x5x5 -> 120 -> 84 -> 10."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool(self.conv1(x).relu())
        x = self.pool(self.conv2(x).relu())
        x = x.flatten(1)
        return self.fc3(self.fc2(self.fc1(x).relu()).relu())


MODELS: dict[str, type[nn.Module]] = {"seed": SeedCNN, "lenet5": LeNet5}


def create_model(name: str, **kwargs) -> nn.Module:
    """A new model by its registry name ("seed" or "lenet5")."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(sorted(MODELS))}")
    return MODELS[name](**kwargs)
