"""The benchmark cases, each defined once per framework: a setup that returns a callable to time.

A case's callable runs one unit of work (a training step, an inference pass, a conv forward and backward, ...).
Both frameworks see the same shapes, float32 data and thread count.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

BATCHES = (32, 128, 512)
CONV_SHAPES = {  # name: (input shape at batch 128, weight shape, padding)
    "seed.conv1": ((128, 1, 28, 28), (2, 1, 5, 5), 0),
    "lenet.conv1": ((128, 1, 28, 28), (6, 1, 5, 5), 2),
    "lenet.conv2": ((128, 6, 14, 14), (16, 6, 5, 5), 0),
}
CONV_TRANSPOSE_SHAPES = {  # name: (input shape, weight shape (C_in, C_out, kH, kW), stride, padding): a 2x upsampling
    "up2x": ((32, 32, 14, 14), (32, 16, 4, 4), 2, 1),
}
INTERPOLATE_SHAPES = {"bilinear2x": ((32, 16, 28, 28), 2, "bilinear")}  # name: (input shape, scale factor, mode)
POOL_SHAPES = {"seed.pool": (128, 2, 24, 24), "lenet.pool1": (128, 6, 28, 28), "lenet.pool2": (128, 16, 10, 10)}
BATCHNORM_SHAPE = (128, 32, 14, 14)  # ResNet8's second stage at batch 128
CHAIN_LENGTH = 200


def case_names(quick: bool = False) -> list[str]:
    batches = (128,) if quick else BATCHES
    names = [f"{model}.{kind}.b{b}" for model in ("seed", "lenet5") for kind in ("train", "infer") for b in batches]
    names += [f"conv.{name}" for name in CONV_SHAPES]
    names += [f"conv_transpose2d.{name}" for name in CONV_TRANSPOSE_SHAPES]
    names += [f"maxpool.{name}" for name in POOL_SHAPES]
    names += [f"interpolate.{name}" for name in INTERPOLATE_SHAPES]
    names += ["resnet8.train.b128", "batchnorm2d.train"]
    names += ["cross_entropy.b128", "overhead.chain200"]
    return names


def _data(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _conv_transpose_out(xs, ws, stride: int, pad: int) -> tuple[int, ...]:
    """The output shape of conv_transpose2d: (H - 1) s - 2p + (k - 1) + 1 per side."""
    return (xs[0], ws[1], (xs[2] - 1) * stride - 2 * pad + ws[2], (xs[3] - 1) * stride - 2 * pad + ws[3])


def _labels(n: int) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 10, n)


def torch_resnet8(torch):
    """models.ResNet8 written in PyTorch, in torchvision's layout (layerK is a Sequential of one BasicBlock), with
    the same names (so state dicts load both ways) and initialisation. The tests compare the two networks with it."""
    nn = torch.nn

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            return torch.relu(out + (x if self.downsample is None else self.downsample(x)))

    class ResNet8(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            self.layer1 = nn.Sequential(BasicBlock(16, 16))
            self.layer2 = nn.Sequential(BasicBlock(16, 32, 2))
            self.layer3 = nn.Sequential(BasicBlock(32, 64, 2))
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(64, 10)
            for module in self.modules():
                if isinstance(module, nn.Conv2d):
                    nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

        def forward(self, x):
            x = self.layer3(self.layer2(self.layer1(torch.relu(self.bn1(self.conv1(x))))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return ResNet8()


# ---- ours -------------------------------------------------------------------------------------------
def ours(name: str) -> Callable[[], object]:
    import tinygrad_cnn as tg
    from tinygrad_cnn import models, no_grad, optim
    from tinygrad_cnn.nn import functional as F

    tg.manual_seed(0)
    kind, _, rest = name.partition(".")
    if kind in ("seed", "lenet5", "resnet8"):
        mode, batch = rest.split(".")
        model = {"seed": models.SeedCNN, "lenet5": models.LeNet5, "resnet8": models.ResNet8}[kind]()
        x, y = tg.Tensor(_data((int(batch[1:]), 1, 28, 28))), tg.Tensor(_labels(int(batch[1:])))
        if mode == "infer":
            model.eval()

            def infer():
                with no_grad():
                    return model(x)
            return infer
        opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def train_step():
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        return train_step
    if kind == "conv":
        xs, ws, pad = CONV_SHAPES[rest]
        x, w = tg.Tensor(_data(xs), requires_grad=True), tg.Tensor(_data(ws, 2), requires_grad=True)
        g = _data((xs[0], ws[0], xs[2] + 2 * pad - ws[2] + 1, xs[3] + 2 * pad - ws[3] + 1), 3)

        def conv():
            F.conv2d(x, w, padding=pad).backward(g)
        return conv
    if kind == "conv_transpose2d":
        xs, ws, stride, pad = CONV_TRANSPOSE_SHAPES[rest]
        x, w = tg.Tensor(_data(xs), requires_grad=True), tg.Tensor(_data(ws, 2), requires_grad=True)
        b = tg.Tensor(_data(ws[1:2], 4), requires_grad=True)
        g = _data(_conv_transpose_out(xs, ws, stride, pad), 3)

        def conv_transpose():
            F.conv_transpose2d(x, w, b, stride=stride, padding=pad).backward(g)
        return conv_transpose
    if kind == "maxpool":
        x = tg.Tensor(_data(POOL_SHAPES[rest]), requires_grad=True)
        g = _data(POOL_SHAPES[rest][:2] + (POOL_SHAPES[rest][2] // 2, POOL_SHAPES[rest][3] // 2), 3)

        def pool():
            F.max_pool2d(x, 2).backward(g)
        return pool
    if kind == "batchnorm2d":  # a training-mode forward (batch statistics, running-stat update) and backward
        layer = tg.nn.BatchNorm2d(BATCHNORM_SHAPE[1])
        x, g = tg.Tensor(_data(BATCHNORM_SHAPE), requires_grad=True), _data(BATCHNORM_SHAPE, 3)

        def batchnorm():
            layer(x).backward(g)
        return batchnorm
    if kind == "interpolate":  # forward and backward of an upsampling (align_corners=False)
        shape, scale, mode = INTERPOLATE_SHAPES[rest]
        x = tg.Tensor(_data(shape), requires_grad=True)
        g = _data(shape[:2] + (shape[2] * scale, shape[3] * scale), 3)

        def resize():
            F.interpolate(x, scale_factor=scale, mode=mode, align_corners=False).backward(g)
        return resize
    if kind == "cross_entropy":
        logits, y = tg.Tensor(_data((128, 10)), requires_grad=True), tg.Tensor(_labels(128))

        def ce():
            F.cross_entropy(logits, y).backward()
        return ce
    if kind == "overhead":
        x = tg.Tensor(_data((4, 4)), requires_grad=True)

        def chain():
            y = x
            for i in range(CHAIN_LENGTH):
                y = y * 1.0001 if i % 2 else y + 0.5
            y.sum().backward()
        return chain
    raise KeyError(name)


# ---- PyTorch ----------------------------------------------------------------------------------------
def theirs(name: str) -> Callable[[], object]:
    import torch
    from torch import nn
    from torch.nn import functional as F

    torch.manual_seed(0)
    kind, _, rest = name.partition(".")
    t = torch.from_numpy
    if kind in ("seed", "lenet5", "resnet8"):
        mode, batch = rest.split(".")
        if kind == "resnet8":
            model = torch_resnet8(torch)
        elif kind == "seed":
            model = nn.Sequential(nn.Conv2d(1, 2, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(288, 60),
                                  nn.ReLU(), nn.Linear(60, 10))
        else:
            model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                                  nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
                                  nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
        x, y = t(_data((int(batch[1:]), 1, 28, 28))), t(_labels(int(batch[1:])))
        if mode == "infer":
            model.eval()

            def infer():
                with torch.no_grad():
                    return model(x)
            return infer
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def train_step():
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        return train_step
    if kind == "conv":
        xs, ws, pad = CONV_SHAPES[rest]
        x, w = t(_data(xs)).requires_grad_(), t(_data(ws, 2)).requires_grad_()
        g = t(_data((xs[0], ws[0], xs[2] + 2 * pad - ws[2] + 1, xs[3] + 2 * pad - ws[3] + 1), 3))

        def conv():
            F.conv2d(x, w, padding=pad).backward(g)
        return conv
    if kind == "conv_transpose2d":
        xs, ws, stride, pad = CONV_TRANSPOSE_SHAPES[rest]
        x, w = t(_data(xs)).requires_grad_(), t(_data(ws, 2)).requires_grad_()
        b = t(_data(ws[1:2], 4)).requires_grad_()
        g = t(_data(_conv_transpose_out(xs, ws, stride, pad), 3))

        def conv_transpose():
            F.conv_transpose2d(x, w, b, stride=stride, padding=pad).backward(g)
        return conv_transpose
    if kind == "maxpool":
        shape = POOL_SHAPES[rest]
        x = t(_data(shape)).requires_grad_()
        g = t(_data(shape[:2] + (shape[2] // 2, shape[3] // 2), 3))

        def pool():
            F.max_pool2d(x, 2).backward(g)
        return pool
    if kind == "batchnorm2d":
        layer = nn.BatchNorm2d(BATCHNORM_SHAPE[1])
        x, g = t(_data(BATCHNORM_SHAPE)).requires_grad_(), t(_data(BATCHNORM_SHAPE, 3))

        def batchnorm():
            layer(x).backward(g)
        return batchnorm
    if kind == "interpolate":
        shape, scale, mode = INTERPOLATE_SHAPES[rest]
        x = t(_data(shape)).requires_grad_()
        g = t(_data(shape[:2] + (shape[2] * scale, shape[3] * scale), 3))

        def resize():
            F.interpolate(x, scale_factor=scale, mode=mode, align_corners=False).backward(g)
        return resize
    if kind == "cross_entropy":
        logits, y = t(_data((128, 10))).requires_grad_(), t(_labels(128))

        def ce():
            F.cross_entropy(logits, y).backward()
        return ce
    if kind == "overhead":
        x = t(_data((4, 4))).requires_grad_()

        def chain():
            y = x
            for i in range(CHAIN_LENGTH):
                y = y * 1.0001 if i % 2 else y + 0.5
            y.sum().backward()
        return chain
    raise KeyError(name)
