"""Numerical faults and memory: anomaly mode names the primitive and the user's line, backward frees what the
forward pass saved, inference under no_grad records nothing, wide graphs work, and training is deterministic."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import models, optim
from tinygrad_cnn.nn import functional as F


def test_anomaly_mode_names_the_forward_primitive_and_the_line():
    x = tg.Tensor(np.array([-1.0, 1.0]), requires_grad=True)
    with tg.detect_anomaly(), pytest.raises(FloatingPointError, match=r"forward output of Log .*test_hardening\.py"), \
            np.errstate(invalid="ignore"):
        x.log()


def test_anomaly_mode_checks_vjp_results():
    x = tg.Tensor(np.array([0.0, 1.0]), requires_grad=True)
    with tg.detect_anomaly():
        y = x.sqrt()  # finite forward, infinite gradient at 0
        with pytest.raises(FloatingPointError, match="gradient of input 0 of Sqrt"), \
                np.errstate(divide="ignore"):
            y.sum().backward()


def test_without_anomaly_mode_nan_flows_silently():
    x = tg.Tensor(np.array([-1.0]), requires_grad=True)
    with np.errstate(invalid="ignore"):
        assert np.isnan(x.log().item())


def test_backward_frees_saved_activations_while_the_loss_lives():
    tg.manual_seed(0)
    model = models.SeedCNN()
    hidden = model.conv(tg.randn(4, 1, 28, 28))
    probe = weakref.ref(hidden.data)
    loss = F.cross_entropy(model.fc2(model.fc1(model.pool(hidden.relu()).flatten(1)).relu()), np.arange(4))
    del hidden
    gc.collect()
    assert probe() is not None  # the graph keeps it for the backward pass
    loss.backward()
    gc.collect()
    assert probe() is None  # freed by backward although `loss` is still alive


def test_retain_graph_keeps_saved_activations():
    x = tg.Tensor(np.ones(3), requires_grad=True)
    hidden = x * 2
    probe = weakref.ref(hidden.data)
    loss = (hidden.exp()).sum()
    del hidden
    loss.backward(retain_graph=True)
    gc.collect()
    assert probe() is not None
    loss.backward()
    assert np.allclose(x.grad.numpy(), 2 * 2 * np.exp(2.0))


def test_inference_under_no_grad_records_nothing():
    model = models.LeNet5()
    with tg.no_grad():
        out = model(tg.randn(2, 1, 28, 28))
    assert out.grad_fn is None and not out.requires_grad


def test_a_node_with_ten_thousand_consumers():
    x = tg.Tensor(np.array(2.0), requires_grad=True)
    total = tg.concatenate([(x * float(i)).reshape(1) for i in range(10_000)]).sum()
    total.backward()
    assert x.grad.item() == sum(range(10_000))


def _train_three_steps(seed: int) -> list[np.ndarray]:
    tg.manual_seed(seed)
    model = models.SeedCNN()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(seed)
    for _ in range(3):
        opt.zero_grad()
        F.cross_entropy(model(tg.Tensor(rng.random((8, 1, 28, 28), dtype=np.float32))), rng.integers(0, 10, 8)
                        ).backward()
        opt.step()
    return [p.numpy().copy() for p in model.parameters()]


def test_same_seed_gives_bit_identical_training():
    first, second, other = _train_three_steps(5), _train_three_steps(5), _train_three_steps(6)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
