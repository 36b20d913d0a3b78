"""The ready models: shapes, parameter counts, a gradient through each against finite differences, and ResNet8's
batch-norm behaviour (train/eval, state_dict, training, equivalence with the same network in PyTorch)."""

import json

import numpy as np
import pytest

import tinygrad_cnn as tg
from benchmarks.cases import torch_resnet8
from tinygrad_cnn import cli, models, optim
from tinygrad_cnn.data import DataLoader, Digits
from tinygrad_cnn.nn import functional as F

MODEL_PARAMS = [("seed", models.SeedCNN, 18_002), ("lenet5", models.LeNet5, 61_706),
                ("resnet8", models.ResNet8, 77_754)]


@pytest.mark.parametrize("name, cls, params", MODEL_PARAMS)
def test_shapes_and_parameter_counts(name, cls, params):
    model = models.create_model(name)
    assert isinstance(model, cls)
    assert sum(p.size for p in model.parameters()) == params
    assert model(tg.randn(3, 1, 28, 28)).shape == (3, 10)


def test_unknown_model_is_named():
    with pytest.raises(ValueError, match="unknown model 'vgg'"):
        models.create_model("vgg")


@pytest.mark.parametrize("cls", [models.SeedCNN, models.LeNet5, models.ResNet8])
def test_parameter_gradients_match_finite_differences(cls):
    """Every parameter at once, along one random direction: v . grad L = (L(p + eps v) - L(p - eps v)) / 2 eps.
    ResNet8 runs in training mode, so the gradient flows through the batch statistics of every batch norm."""
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    model = cls().double()
    params = list(model.parameters())
    assert all(p.dtype == np.float64 for p in params)
    x, y = tg.Tensor(rng.standard_normal((3, 1, 28, 28))), np.array([1, 7, 3])
    F.cross_entropy(model(x), y).backward()
    directions = [rng.standard_normal(p.shape) for p in params]
    analytic = sum(float(np.sum(p.grad.numpy() * d)) for p, d in zip(params, directions))
    eps = 1e-7  # small enough that no relu input crosses 0 (ResNet8 has ~40,000 of them; 1e-6 crosses one)

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


# ---- ResNet8 ------------------------------------------------------------------------------------------
def test_resnet8_state_dict_names_match_torchvision_with_running_statistics():
    keys = list(models.ResNet8().state_dict())
    batch_norms = ["bn1", "layer1.0.bn1", "layer1.0.bn2", "layer2.0.bn1", "layer2.0.bn2", "layer2.0.downsample.1",
                   "layer3.0.bn1", "layer3.0.bn2", "layer3.0.downsample.1"]
    for bn in batch_norms:
        for leaf in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            assert f"{bn}.{leaf}" in keys, (bn, leaf)
    convs = ["conv1", "layer1.0.conv1", "layer1.0.conv2", "layer2.0.conv1", "layer2.0.conv2", "layer2.0.downsample.0",
             "layer3.0.conv1", "layer3.0.conv2", "layer3.0.downsample.0"]
    for conv in convs:
        assert f"{conv}.weight" in keys and f"{conv}.bias" not in keys, conv
    assert "fc.weight" in keys and "fc.bias" in keys
    assert len(keys) == len(convs) + 5 * len(batch_norms) + 2  # nothing else
    assert not any(k.startswith("layer1.0.downsample") for k in keys), "a shape-keeping block has an identity shortcut"
    assert sum(p.size for p in models.ResNet8().parameters()) == 77_754


def test_resnet8_initialisation_is_torchvisions():
    """Convs N(0, 2 / fan_out) with fan_out = out_channels * kH * kW; batch-norm weight 1, bias 0, fresh stats."""
    tg.manual_seed(0)
    model = models.ResNet8()
    w = model.layer3[0].conv2.weight.numpy()  # 64 * 3 * 3 = 576 = fan_out, 36,864 samples
    assert abs(w.mean()) < 0.01 * np.sqrt(2 / 576)
    assert np.isclose(w.std(), np.sqrt(2 / 576), rtol=0.03)
    bn = model.layer2[0].downsample[1]
    assert np.all(bn.weight.numpy() == 1) and np.all(bn.bias.numpy() == 0)
    assert np.all(bn.running_mean.numpy() == 0) and np.all(bn.running_var.numpy() == 1)


def test_resnet8_batch_norm_train_and_eval_differ():
    """Training mode normalises by the batch's statistics (a sample's logits depend on its batch) and updates the
    running statistics; eval mode uses the running statistics (a sample's logits do not depend on its batch)."""
    tg.manual_seed(0)
    model = models.ResNet8()
    x = tg.Tensor(np.random.default_rng(0).random((8, 1, 28, 28), dtype=np.float32))
    before = model.bn1.running_mean.numpy().copy()
    train_all, train_half = model(x).numpy(), model(x[:4]).numpy()
    assert not np.allclose(train_all[:4], train_half, atol=1e-4)
    assert not np.allclose(model.bn1.running_mean.numpy(), before)
    assert int(model.bn1.num_batches_tracked.item()) == 2
    model.eval()
    stats = model.bn1.running_mean.numpy().copy()
    with tg.no_grad():
        eval_all, eval_half = model(x).numpy(), model(x[:4]).numpy()
    np.testing.assert_allclose(eval_all[:4], eval_half, rtol=1e-4, atol=1e-5)
    assert not np.allclose(eval_all, train_all, atol=1e-4)
    np.testing.assert_array_equal(model.bn1.running_mean.numpy(), stats)  # eval leaves the statistics alone


def test_basic_block_shapes_and_shortcuts():
    block = models.BasicBlock(8, 8)
    assert block.downsample is None
    x = tg.randn(2, 8, 7, 7)
    assert block(x).shape == (2, 8, 7, 7)
    strided = models.BasicBlock(8, 16, stride=2)
    assert strided(x).shape == (2, 16, 4, 4)  # ceil(7 / 2)
    assert isinstance(strided.downsample, tg.nn.Sequential)
    assert strided.downsample[0].stride == (2, 2) and strided.downsample[0].kernel_size == (1, 1)
    assert isinstance(strided.downsample[1], tg.nn.BatchNorm2d)
    assert models.BasicBlock(8, 16)(x).shape == (2, 16, 7, 7)  # a channel change alone also needs the 1x1 conv
    assert (block(x).numpy() >= 0).all(), "the block ends in a relu"


def test_resnet8_options_and_bad_arguments():
    assert models.ResNet8(num_classes=3, in_channels=3)(tg.randn(2, 3, 16, 16)).shape == (2, 3)
    with pytest.raises(ValueError, match=r"BasicBlock.*stride"):
        models.BasicBlock(4, 4, stride=0)
    with pytest.raises((TypeError, ValueError), match=r"ResNet8.*num_classes"):
        models.ResNet8(num_classes=1.5)
    with pytest.raises(ValueError, match="channel"):
        models.ResNet8()(tg.randn(2, 3, 28, 28))  # three-channel images into the one-channel stem


def test_resnet8_learns_digits():
    """Forty Adam steps on scikit-learn's digits (upscaled to 28x28) cut the loss well below its start (~2.3).
    The running statistics lag weights that moved this fast (eval mode is near chance here, in PyTorch too), so
    they are re-estimated with the weights fixed (momentum=None: the plain average over batches); then eval mode
    classifies held-out digits far better than chance."""
    tg.manual_seed(0)
    model = models.ResNet8()
    opt = optim.Adam(model.parameters(), lr=0.005)
    loader = DataLoader(Digits(train=True), 32, shuffle=True, seed=0)
    losses = []
    for step, (x, y) in enumerate(loader):
        if step == 40:
            break
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.35 * np.mean(losses[:5]), losses
    batch_norms = [m for m in model.modules() if isinstance(m, tg.nn.BatchNorm2d)]
    assert len(batch_norms) == 9
    for bn in batch_norms:
        bn.reset_running_stats()
        bn.momentum = None
    with tg.no_grad():
        for step, (x, _) in enumerate(loader):
            if step == 10:
                break
            model(x)
    model.eval()
    with tg.no_grad():
        x, y = next(iter(DataLoader(Digits(train=False), 300)))
        accuracy = float((model(x).numpy().argmax(1) == y.numpy()).mean())
    assert accuracy > 0.7, accuracy


def test_cli_trains_resnet8(tmp_path, capsys):
    """The command line trains and evaluates ResNet8 (a few batches of digits); the checkpoint carries the
    running statistics, so evaluate reproduces the accuracy train reported."""
    out = tmp_path / "resnet"
    assert cli.main(["train", "--model", "resnet8", "--dataset", "digits", "--epochs", "1", "--limit", "96",
                     "--quiet", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "resnet8"
    assert tg.load(out / "checkpoint.npz")["meta"]["label_smoothing"] == 0.1  # resnet8's default
    capsys.readouterr()
    assert cli.main(["evaluate", "--checkpoint", str(out / "checkpoint.npz"), "--limit", "96"]) == 0
    assert f"accuracy {100 * metrics['test_accuracy']:.2f}%" in capsys.readouterr().out
    state = tg.load(out / "checkpoint.npz")["model_state"]
    assert int(np.asarray(state["layer3.0.downsample.1.num_batches_tracked"])) == 3  # ceil(96 / 32) batches
    assert not np.allclose(np.asarray(state["bn1.running_var"]), 1)


# ---- against PyTorch --------------------------------------------------------------------------------
def test_resnet8_matches_pytorch_in_train_and_eval_mode():
    """Our weights and running statistics load strictly into the PyTorch network; after a few training steps
    (so the statistics are not the initial ones) logits, gradients and updated running statistics agree."""
    torch = pytest.importorskip("torch")
    tg.manual_seed(0)
    ours = models.ResNet8().double()
    rng = np.random.default_rng(0)
    x = rng.random((6, 1, 28, 28))
    for _ in range(3):  # move the running statistics off their initial values
        ours(tg.Tensor(rng.random((6, 1, 28, 28))))
    theirs = torch_resnet8(torch).double()
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()}, strict=True)

    ours.eval()
    theirs.eval()
    with tg.no_grad(), torch.no_grad():
        np.testing.assert_allclose(ours(tg.Tensor(x)).numpy(), theirs(torch.from_numpy(x)).numpy(),
                                   rtol=1e-10, atol=1e-12)

    ours.train()
    theirs.train()
    y = np.array([0, 1, 2, 3, 4, 5])
    ours_logits = ours(tg.Tensor(x))
    theirs_logits = theirs(torch.from_numpy(x))
    np.testing.assert_allclose(ours_logits.numpy(), theirs_logits.detach().numpy(), rtol=1e-10, atol=1e-12)
    F.cross_entropy(ours_logits, y).backward()
    torch.nn.functional.cross_entropy(theirs_logits, torch.from_numpy(y)).backward()
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_params[name].grad.numpy(), rtol=1e-8, atol=1e-12,
                                   err_msg=name)
    theirs_state = theirs.state_dict()
    for name, value in ours.state_dict().items():
        np.testing.assert_allclose(np.asarray(value), theirs_state[name].numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)
