"""Three ready CNNs for (N, 1, 28, 28) images and 10 classes, returning logits (N, 10).

* :class:`SeedCNN`, the tutorial network: conv 2@5x5 -> relu -> max-pool 2 -> flatten (2*12*12 = 288)
  -> linear 60 -> relu -> linear 10. 18,002 parameters.
* :class:`LeNet5`: conv 6@5x5 (padding 2) -> relu -> max-pool 2 -> conv 16@5x5 -> relu -> max-pool 2
  -> flatten (16*5*5 = 400) -> linear 120 -> relu -> linear 84 -> relu -> linear 10. 61,706 parameters.
* :class:`ResNet8`: a residual network of :class:`BasicBlock` s with batch normalisation, the 6n + 2 = 8 layer
  member (n = 1) of He et al.'s CIFAR family: stem conv 16@3x3 -> three stages of one block each (16, 32 and
  64 channels; the second and third halve the resolution, 28 -> 14 -> 7, with a 1x1 stride-2 conv + BatchNorm2d
  shortcut) -> adaptive average pool -> linear 10. 77,754 parameters (and 9 BatchNorm2d layers' running
  statistics as buffers).

``MODELS`` maps the command line's names to the classes.
"""

from __future__ import annotations

from . import nn
from ._checks import as_int
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


class BasicBlock(nn.Module):
    """Two 3x3 convs with batch norm and a residual connection, as torchvision's ``BasicBlock``:

    $y = \\mathrm{relu}(\\mathrm{bn_2}(\\mathrm{conv_2}(\\mathrm{relu}(\\mathrm{bn_1}(\\mathrm{conv_1}(x))))) + s(x))$,
    (N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride)). The shortcut $s$ is the
    identity when shape is kept, else ``downsample`` = Sequential(1x1 conv with ``stride``, BatchNorm2d), so
    state_dict keys are ``conv1.weight``, ``bn1.running_mean``, ``downsample.0.weight``, ``downsample.1.bias``, ...
    The convs have no bias (the batch norm that follows each would cancel it).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        in_channels = as_int("BasicBlock", "in_channels", in_channels, low=1)
        out_channels = as_int("BasicBlock", "out_channels", out_channels, low=1)
        stride = as_int("BasicBlock", "stride", stride, low=1)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(out_channels))

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn1(self.conv1(x)).relu()
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return (out + shortcut).relu()


class ResNet8(nn.Module):
    """ResNet-8: 28x28 -stem-> 16x28x28 -layer1-> 16x28x28 -layer2-> 32x14x14 -layer3-> 64x7x7 -avgpool-> 64
    -> fc 10. 77,754 parameters.

    Named as torchvision's ResNet (``conv1``, ``bn1``, ``layer1.0.conv1``, ..., ``layer2.0.downsample.0``,
    ``fc``), so its ``state_dict`` loads into the same network written in PyTorch. Initialised as torchvision
    initialises a ResNet: convs ``kaiming_normal_(mode="fan_out", nonlinearity="relu")``, batch-norm weight 1 and
    bias 0, the linear layer PyTorch's default. In training mode each batch norm uses the batch's statistics
    (and updates its running ones); ``model.eval()`` switches to the running statistics.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        num_classes = as_int("ResNet8", "num_classes", num_classes, low=1)
        in_channels = as_int("ResNet8", "in_channels", in_channels, low=1)
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = nn.Sequential(BasicBlock(16, 16))
        self.layer2 = nn.Sequential(BasicBlock(16, 32, stride=2))
        self.layer3 = nn.Sequential(BasicBlock(32, 64, stride=2))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        x = self.bn1(self.conv1(x)).relu()
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.avgpool(x).flatten(1))


MODELS: dict[str, type[nn.Module]] = {"seed": SeedCNN, "lenet5": LeNet5, "resnet8": ResNet8}


def create_model(name: str, **kwargs) -> nn.Module:
    """A new model by its registry name ("seed", "lenet5" or "resnet8")."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(sorted(MODELS))}")
    return MODELS[name](**kwargs)
