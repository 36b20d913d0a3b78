"""Numerical faults and memory: anomaly mode names the primitive and the user's line, backward frees what the
forward pass saved, inference under no_grad records nothing, training steps leave no nodes behind, deep (10^6) and
wide (10^4 consumers) graphs work, training is deterministic, and a save killed midway leaves a valid checkpoint."""

from __future__ import annotations

import gc
import sys
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


def test_a_chain_of_a_million_ops():
    """Backward through 1,000,000 chained primitives: an iterative walk, no RecursionError (about 15 s, 1 GB)."""
    x = tg.Tensor(np.array(1.5), requires_grad=True)
    y = x
    for _ in range(1_000_000):
        y = -y  # the sign flips back every second step
    y.backward()
    assert y.item() == 1.5 and x.grad.item() == 1.0
    assert sys.getrecursionlimit() < 1_000_000


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


def _live(kind: type) -> int:
    gc.collect()
    return sum(isinstance(o, kind) for o in gc.get_objects())


def test_training_steps_leave_no_graph_nodes_or_tensors_behind():
    tg.manual_seed(0)
    model = models.SeedCNN()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x, y = tg.randn(16, 1, 28, 28), np.arange(16) % 10

    def step() -> None:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    step()
    nodes, tensors = _live(tg.Function), _live(tg.Tensor)
    for _ in range(30):
        step()
    assert _live(tg.Function) == nodes and _live(tg.Tensor) == tensors


KILLED_SAVER = """
import sys
import numpy as np
import tinygrad_cnn as tg
target = sys.argv[1]
big = np.zeros(8_000_000, dtype=np.float32)  # 32 MB: a save takes long enough to be interrupted
i = 0
while True:
    i += 1
    big[0] = i
    tg.save({"step": i, "weights": big}, target)
    print(i, flush=True)
"""


def test_a_save_killed_midway_never_leaves_a_broken_file_under_the_target_name(tmp_path):
    """SIGKILL a process that overwrites one checkpoint in a loop, at several moments: the target is always a
    complete checkpoint (the last one written or the one before)."""
    import signal
    import subprocess
    import time

    target = tmp_path / "ckpt.npz"
    for delay in (0.05, 0.3, 0.7, 1.1):
        proc = subprocess.Popen([sys.executable, "-c", KILLED_SAVER, str(target)], stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()  # at least one save completed
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        state = tg.load(target)  # raises CheckpointError if the file were half-written
        assert state["weights"][0] == state["step"] and state["weights"].shape == (8_000_000,)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "ckpt.npz"]
    assert all(name.startswith(".ckpt.npz.") and name.endswith(".tmp") for name in leftovers)
