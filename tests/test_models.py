"""The two ready models: shapes, parameter counts, and a gradient through each against finite differences."""

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import models
from tinygrad_cnn.nn import functional as F


@pytest.mark.parametrize("name, cls, params", [("seed", models.SeedCNN, 18_002), ("lenet5", models.LeNet5, 61_706)])
def test_shapes_and_parameter_counts(name, cls, params):
    model = models.create_model(name)
    assert isinstance(model, cls)
    assert sum(p.size for p in model.parameters()) == params
    assert model(tg.randn(3, 1, 28, 28)).shape == (3, 10)


def test_unknown_model_is_named():
    with pytest.raises(ValueError, match="unknown model 'vgg'"):
        models.create_model("vgg")


@pytest.mark.parametrize("cls", [models.SeedCNN, models.LeNet5])
def test_parameter_gradients_match_finite_differences(cls):
    """Every parameter at once, along one random direction: v . grad L = (L(p + eps v) - L(p - eps v)) / 2 eps."""
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    model = cls()
    params = list(model.parameters())
    for p in params:
        p.data = p.data.astype(np.float64)
    x, y = tg.Tensor(rng.standard_normal((2, 1, 28, 28))), np.array([1, 7])
    F.cross_entropy(model(x), y).backward()
    directions = [rng.standard_normal(p.shape) for p in params]
    analytic = sum(float(np.sum(p.grad.numpy() * d)) for p, d in zip(params, directions))
    eps = 1e-6

    def shifted(sign: float) -> float:
        originals = [p.data for p in params]
        for p, d in zip(params, directions):
            p.data = p.data + sign * eps * d
        with tg.no_grad():
            value = F.cross_entropy(model(x), y).item()
        for p, o in zip(params, originals):
            p.data = o
        return value

    numeric = (shifted(1.0) - shifted(-1.0)) / (2 * eps)
    assert np.isclose(analytic, numeric, rtol=1e-5, atol=1e-8)
