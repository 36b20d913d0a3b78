"""A binary conv classifier, 0 versus 1: 3x3 conv, relu, max-pool, flatten, linear to 1, sigmoid and binary
cross-entropy. The gradient at the logit is a - y, checked here against the framework's."""

import numpy as np

import tinygrad_cnn as tg
from tinygrad_cnn import nn, optim
from tinygrad_cnn.data import Digits
from tinygrad_cnn.nn import functional as F

tg.manual_seed(0)
data = Digits(train=True)
keep = data.labels < 2
x, y = tg.Tensor(data.images[keep]), data.labels[keep].astype(np.float32)
model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 13 * 13, 1))
optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for step in range(30):
    logit = model(x).reshape(-1)
    logit.retain_grad()
    a = logit.sigmoid()
    loss = F.binary_cross_entropy(a, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step == 0:
        by_hand = (a.numpy() - y) / len(y)  # dL/dlogit = (a - y) / N for the mean
        print(f"max |dL/dlogit - (a - y)/N| = {np.abs(logit.grad.numpy() - by_hand).max():.2e}")
        assert np.allclose(logit.grad.numpy(), by_hand, atol=1e-6)
def accuracy(images: np.ndarray, targets: np.ndarray) -> float:
    """Fraction right when predicting 1 for sigmoid(logit) > 1/2, i.e. logit > 0."""
    with tg.no_grad():
        return float(((model(tg.Tensor(images)).reshape(-1).numpy() > 0) == (targets > 0.5)).mean())


test = Digits(train=False)
test_keep = test.labels < 2
train_accuracy = accuracy(data.images[keep], y)
test_accuracy = accuracy(test.images[test_keep], test.labels[test_keep].astype(np.float32))
print(f"{len(y)} training images of 0 and 1: loss {loss.item():.4f}, training accuracy {100 * train_accuracy:.1f}%")
print(f"{int(test_keep.sum())} test images: test accuracy {100 * test_accuracy:.1f}%")
assert train_accuracy > 0.95 and test_accuracy > 0.95
