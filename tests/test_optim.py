"""Optimisers against hand-computed updates (and PyTorch when installed), state dicts, validation, schedulers."""

import math

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import nn, optim
from tinygrad_cnn.optim.lr_scheduler import CosineAnnealingLR, StepLR
from tinygrad_cnn.serialization import load, save


def trajectory(make_opt, p0=1.0, steps=3):
    """Minimise p^2 (gradient 2p) from p0 and return p after each step."""
    p = nn.Parameter(np.array([p0]))
    opt = make_opt([p])
    values = []
    for _ in range(steps):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
        values.append(p.data[0])
    return values


# ---- SGD, by hand: p0 = 1, g = 2p, lr = 0.1 ------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, expected", [
    ({}, [0.8, 0.64, 0.512]),
    # b1 = 2, p = 0.8; g = 1.6, b2 = 0.9*2 + 1.6 = 3.4, p = 0.46; g = 0.92, b3 = 3.06 + 0.92 = 3.98, p = 0.062
    ({"momentum": 0.9}, [0.8, 0.46, 0.062]),
    # dampening applies from the second step: b2 = 1.8 + 0.5*1.6 = 2.6, b3 = 2.34 + 0.5*1.08 = 2.88
    ({"momentum": 0.9, "dampening": 0.5}, [0.8, 0.54, 0.252]),
    # step with g + 0.9 b: 2 + 1.8 = 3.8; g = 1.24, b = 3.04, 1.24 + 2.736; g = 0.4448, b = 3.1808, + 2.86272
    ({"momentum": 0.9, "nesterov": True}, [0.62, 0.2224, -0.108352]),
    # g = 2p + 0.5p = 2.5p
    ({"weight_decay": 0.5}, [0.75, 0.5625, 0.421875]),
    # g = 2.5p with momentum 0.5: b1 = 2.5, p = 0.75; g = 1.875, b2 = 3.125, p = 0.4375;
    # g = 1.09375, b3 = 2.65625, p = 0.171875
    ({"weight_decay": 0.5, "momentum": 0.5}, [0.75, 0.4375, 0.171875]),
])
def test_sgd_three_steps_by_hand(kwargs, expected):
    np.testing.assert_allclose(trajectory(lambda ps: optim.SGD(ps, lr=0.1, **kwargs)), expected, rtol=1e-12)


# ---- Adam and AdamW ------------------------------------------------------------------------------------------------
def adam_reference(p0, lr, b1, b2, eps, wd, decoupled, steps=3):
    """The Adam/AdamW rule written out in textbook form, on p^2 (g = 2p)."""
    p, m, v, out = p0, 0.0, 0.0, []
    for t in range(1, steps + 1):
        g = 2 * p
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        p = p - lr * m_hat / (math.sqrt(v_hat) + eps)
        out.append(p)
    return out


def test_adam_first_step_is_lr_times_sign_thanks_to_bias_correction():
    # m1 = 0.1 g, v1 = 0.001 g^2: corrected, m/sqrt(v) = g/|g| = 1, so p moves by lr (eps aside)
    p1 = trajectory(lambda ps: optim.Adam(ps, lr=0.1), p0=1.0, steps=1)[0]
    assert p1 == pytest.approx(1 - 0.1 * 2 / (2 + 1e-8), rel=1e-14)
    p1 = trajectory(lambda ps: optim.Adam(ps, lr=0.1), p0=-3.0, steps=1)[0]
    assert p1 == pytest.approx(-3 + 0.1 * 6 / (6 + 1e-8), rel=1e-14)


@pytest.mark.parametrize("wd", [0.0, 0.3])
@pytest.mark.parametrize("opt_class, decoupled", [(optim.Adam, False), (optim.AdamW, True)])
def test_adam_and_adamw_three_steps(opt_class, decoupled, wd):
    kwargs = {"lr": 0.05, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": wd}
    got = trajectory(lambda ps: opt_class(ps, **kwargs), p0=1.5)
    expected = adam_reference(1.5, 0.05, 0.8, 0.95, 1e-6, wd, decoupled)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_adamw_decay_is_decoupled_from_the_gradient():
    # with a zero gradient AdamW only shrinks p by (1 - lr*wd) per step; Adam's L2 term becomes a gradient instead
    def run(opt_class):
        p = nn.Parameter(np.array([2.0]))
        opt = opt_class([p], lr=0.1, weight_decay=0.5)
        for _ in range(3):
            p.grad = tc.Tensor(np.zeros(1))
            opt.step()
        return p.data[0]

    assert run(optim.AdamW) == pytest.approx(2.0 * 0.95**3, rel=1e-14)
    assert run(optim.Adam) == pytest.approx(2.0 - 3 * 0.1, abs=0.01)
    assert optim.AdamW([nn.Parameter(np.zeros(1))]).param_groups[0]["weight_decay"] == 0.01


# ---- against PyTorch (skipped when it is not installed) --------------------------------------------------------------
CONFIGS = [
    ("SGD", {"lr": 0.1}), ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01}), ("Adam", {"lr": 0.02, "betas": (0.5, 0.9), "eps": 1e-4, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.01}), ("AdamW", {"lr": 0.02, "betas": (0.7, 0.99), "weight_decay": 0.3}),
]


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 2e-6)])
@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)])
def test_matches_pytorch(name, kwargs, dtype, rtol):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    p0, w, u = rng.normal(size=(3, 4)).astype(dtype), rng.uniform(0.5, 2, (3, 4)).astype(dtype), rng.normal(
        size=(3, 4)).astype(dtype)
    ours = nn.Parameter(p0.copy())
    theirs = torch.tensor(p0.copy(), requires_grad=True)
    opt_ours = getattr(optim, name)([ours], **kwargs)
    opt_theirs = getattr(torch.optim, name)([theirs], **kwargs)
    for _ in range(5):
        opt_ours.zero_grad()
        opt_theirs.zero_grad()
        (tc.Tensor(w) * ours * ours + tc.Tensor(u) * ours).sum().backward()
        (torch.tensor(w) * theirs * theirs + torch.tensor(u) * theirs).sum().backward()
        opt_ours.step()
        opt_theirs.step()
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=rtol, atol=rtol)
    assert ours.dtype == dtype


# ---- the update's contract -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1),
    lambda ps: optim.Adam(ps, weight_decay=0.1), lambda ps: optim.AdamW(ps),
])
def test_step_is_in_place_skips_missing_grads_and_never_touches_grads(make):
    used, unused = nn.Parameter(np.ones((2, 3), np.float32)), nn.Parameter(np.ones(3, np.float32))
    opt = make([used, unused])
    data, unused_before = used.data, unused.data.copy()
    for _ in range(2):
        opt.zero_grad()
        (used * used).sum().backward()
        grad, grad_before = used.grad, used.grad.data.copy()
        opt.step()
        assert used.grad is grad
        np.testing.assert_array_equal(used.grad.data, grad_before)
    assert used.data is data and used.is_leaf and used.dtype == np.float32
    assert not np.array_equal(used.data, np.ones((2, 3)))
    np.testing.assert_array_equal(unused.data, unused_before)
    assert unused not in opt.state and unused.grad is None


def test_zero_grad_sets_none_and_closure_returns_the_loss():
    p = nn.Parameter(np.array([1.0, 2.0]))
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with tc.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 5.0
    np.testing.assert_allclose(p.data, [0.8, 1.6])
    opt.zero_grad()
    assert p.grad is None


def test_param_groups_have_their_own_hyperparameters():
    a, b = nn.Parameter(np.array([1.0])), nn.Parameter(np.array([1.0]))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    for p in (a, b):
        p.grad = tc.Tensor(np.array([1.0]))
    opt.step()
    assert a.data[0] == pytest.approx(0.9) and b.data[0] == pytest.approx(0.5)
    assert opt.param_groups[1]["momentum"] == 0


def test_model_parameters_generator_is_accepted():
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    opt = optim.Adam(model.parameters(), lr=0.1)
    assert len(opt.param_groups[0]["params"]) == 4


# ---- validation ------------------------------------------------------------------------------------------------------
P = nn.Parameter(np.zeros(2, np.float32))


@pytest.mark.parametrize("make, match", [
    (lambda: optim.SGD([P], lr=-0.1), "learning rate"),
    (lambda: optim.SGD([P], lr=float("nan")), "learning rate"),
    (lambda: optim.SGD([P], lr=10**400), "learning rate lr=.* too large"),
    (lambda: optim.SGD([P], lr=0.1, momentum=-1), "momentum"),
    (lambda: optim.SGD([P], lr=0.1, dampening=1.5), r"dampening must be in \[0.0, 1.0\]"),
    (lambda: optim.SGD([P], lr=0.1, weight_decay=-1), "weight_decay"),
    (lambda: optim.SGD([P], lr=0.1, nesterov=True), "Nesterov"),
    (lambda: optim.SGD([P], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
    (lambda: optim.Adam([P], lr=-1), "learning rate"),
    (lambda: optim.Adam([P], betas=(1.0, 0.999)), "beta1"),
    (lambda: optim.Adam([P], betas=(0.9, -0.1)), "beta2"),
    (lambda: optim.Adam([P], betas=(0.9, 0.99, 0.999)), "pair"),
    (lambda: optim.Adam([P], eps=-1e-8), "eps"),
    (lambda: optim.AdamW([P], weight_decay=-0.01), "weight_decay"),
    (lambda: optim.SGD([], lr=0.1), "empty"),
    (lambda: optim.SGD([P, P], lr=0.1), "more than once"),
    (lambda: optim.SGD([{"params": [P], "momentun": 0.9}], lr=0.1), "unknown hyperparameters"),
    (lambda: optim.SGD([P * 2], lr=0.1), "leaf"),
])
def test_bad_arguments_are_value_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("make, match", [
    (lambda: optim.SGD([P], lr="0.1"), "SGD: learning rate lr must be a real number"),
    (lambda: optim.SGD([P], lr=None), "SGD: learning rate lr must be a real number"),
    (lambda: optim.SGD([P], lr=True), "SGD: learning rate lr must be a real number"),
    (lambda: optim.SGD([P], lr=0.1, momentum="0.9"), "SGD: momentum"),
    (lambda: optim.SGD([P], lr=0.1, nesterov=1), "SGD: nesterov must be True or False"),
    (lambda: optim.Adam([P], betas=0.9), "Adam: betas must be a pair"),
    (lambda: optim.Adam([P], betas=(0.9, "0.999")), "Adam: beta2 must be a real number"),
    (lambda: optim.AdamW([P], weight_decay=None), "AdamW: weight_decay must be a real number"),
])
def test_hyperparameters_of_the_wrong_kind_are_type_errors(make, match):
    with pytest.raises(TypeError, match=match):
        make()


def test_numpy_hyperparameters_become_python_numbers():
    opt = optim.SGD([P], lr=np.float32(0.5), momentum=np.int64(0), nesterov=np.False_)
    group = opt.param_groups[0]
    assert (group["lr"], group["momentum"], group["nesterov"]) == (0.5, 0.0, False)
    assert type(group["lr"]) is float and type(group["nesterov"]) is bool


@pytest.mark.parametrize("params", [P, [np.zeros(2)], [tc.Tensor(np.zeros(2, np.int64))], [P, {"params": [P]}]])
def test_bad_params_are_type_errors(params):
    with pytest.raises(TypeError):
        optim.SGD(params, lr=0.1)


def test_a_gradient_of_the_wrong_shape_is_refused():
    p = nn.Parameter(np.zeros(2))
    p.grad = tc.Tensor(np.zeros(3))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        optim.SGD([p], lr=0.1).step()


# ---- state dicts -----------------------------------------------------------------------------------------------------
def make_setup(opt_name):
    tc.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    if opt_name == "sgd":
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)
    else:
        opt = getattr(optim, opt_name)(model.parameters(), lr=0.01)
    return model, opt, StepLR(opt, step_size=2, gamma=0.5)


def train(model, opt, scheduler, batches):
    for x, y in batches:
        opt.zero_grad()
        diff = model(x) - y
        (diff * diff).mean().backward()
        opt.step()
        scheduler.step()


@pytest.mark.parametrize("opt_name", ["sgd", "Adam", "AdamW"])
def test_state_dict_round_trip_mid_training_continues_bit_identically(opt_name, tmp_path):
    rng = np.random.default_rng(0)
    batches = [(tc.Tensor(rng.normal(size=(5, 4)).astype(np.float32)),
                tc.Tensor(rng.normal(size=(5, 2)).astype(np.float32))) for _ in range(6)]
    model, opt, scheduler = make_setup(opt_name)
    train(model, opt, scheduler, batches[:3])
    save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": scheduler.state_dict(),
          "epoch": 3}, tmp_path / "ckpt.npz")
    train(model, opt, scheduler, batches[3:])

    state = load(tmp_path / "ckpt.npz")
    model2, opt2, scheduler2 = make_setup(opt_name)
    tc.manual_seed(99)
    for layer in (model2[0], model2[2]):
        layer.reset_parameters()
    model2.load_state_dict(state["model"])
    opt2.load_state_dict(state["optimizer"])
    scheduler2.load_state_dict(state["scheduler"])
    assert state["epoch"] == 3 and scheduler2.last_epoch == 3
    train(model2, opt2, scheduler2, batches[3:])
    for (name, a), (_, b) in zip(model.named_parameters(), model2.named_parameters()):
        assert a.data.tobytes() == b.data.tobytes(), name
    assert opt.param_groups[0]["lr"] == opt2.param_groups[0]["lr"] == scheduler.get_last_lr()[0]


def test_state_dict_layout_and_snapshot():
    p, q = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))
    opt = optim.Adam([{"params": [p]}, {"params": [q], "lr": 0.5}])
    p.grad = tc.Tensor(np.ones(2))
    opt.step()
    state = opt.state_dict()
    assert state["param_groups"][0]["params"] == [0] and state["param_groups"][1]["params"] == [1]
    assert state["param_groups"][1]["lr"] == 0.5 and list(state["state"]) == [0]
    assert state["state"][0]["step"] == 1 and set(state["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    opt.step()
    assert state["state"][0]["step"] == 1
    np.testing.assert_allclose(state["state"][0]["exp_avg"], 0.1)


def test_load_state_dict_refuses_mismatches_and_changes_nothing():
    p = nn.Parameter(np.ones(2))
    sgd = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = tc.Tensor(np.ones(2))
    sgd.step()
    adam = optim.Adam([nn.Parameter(np.ones(2))], lr=0.1)
    with pytest.raises(ValueError, match="another kind of optimiser"):
        adam.load_state_dict(sgd.state_dict())
    other = optim.SGD([nn.Parameter(np.ones(3))], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"shape \(2,\).*shape \(3,\)"):
        other.load_state_dict(sgd.state_dict())
    two = optim.SGD([nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))], lr=0.7, momentum=0.9)
    with pytest.raises(ValueError, match="holds 1 parameters"):
        two.load_state_dict(sgd.state_dict())
    bad = sgd.state_dict()
    bad["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match="learning rate"):
        two.load_state_dict({"state": {}, "param_groups": [{**bad["param_groups"][0], "params": [0, 1]}]})
    assert two.param_groups[0]["lr"] == 0.7 and not two.state and not adam.state and not other.state


# ---- schedulers ------------------------------------------------------------------------------------------------------
def lrs(scheduler, epochs):
    out = [scheduler.get_last_lr()[0]]
    for _ in range(epochs):
        scheduler.optimizer.step()
        scheduler.step()
        out.append(scheduler.get_last_lr()[0])
    return out


def test_step_lr_sequence():
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1)
    scheduler = StepLR(opt, step_size=2, gamma=0.5)
    np.testing.assert_allclose(lrs(scheduler, 6), [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125], rtol=1e-15)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0125)


def test_cosine_sequence_and_groups():
    opt = optim.SGD([{"params": [nn.Parameter(np.zeros(1))]}, {"params": [nn.Parameter(np.zeros(1))], "lr": 1.0}],
                    lr=0.1)
    scheduler = CosineAnnealingLR(opt, T_max=4, eta_min=0.01)
    expected = [0.01 + 0.09 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(9)]
    got = lrs(scheduler, 8)
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    assert got[2] == pytest.approx(0.055) and got[4] == pytest.approx(0.01) and got[8] == pytest.approx(0.1)
    assert scheduler.get_last_lr()[1] == pytest.approx(1.0)


@pytest.mark.parametrize("make_ours, make_theirs", [
    (lambda o: StepLR(o, 3, gamma=0.3), lambda t, o: t.optim.lr_scheduler.StepLR(o, 3, gamma=0.3)),
    (lambda o: CosineAnnealingLR(o, 5, eta_min=0.001),
     lambda t, o: t.optim.lr_scheduler.CosineAnnealingLR(o, 5, eta_min=0.001)),
])
def test_schedulers_match_pytorch(make_ours, make_theirs):
    torch = pytest.importorskip("torch")
    theirs_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.2)
    theirs = make_theirs(torch, theirs_opt)
    expected = [theirs.get_last_lr()[0]]
    for _ in range(12):
        theirs_opt.step()
        theirs.step()
        expected.append(theirs.get_last_lr()[0])
    ours = make_ours(optim.SGD([nn.Parameter(np.zeros(1))], lr=0.2))
    np.testing.assert_allclose(lrs(ours, 12), expected, rtol=1e-12)


def test_scheduler_validation():
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive int, got 0"):
        StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="CosineAnnealingLR: T_max must be a positive int, got -1"):
        CosineAnnealingLR(opt, T_max=-1)
    with pytest.raises(ValueError, match="StepLR: last_epoch must be >= -1, got -2"):
        StepLR(opt, step_size=2, last_epoch=-2)
    with pytest.raises(ValueError, match="StepLR: gamma must be finite"):
        StepLR(opt, step_size=2, gamma=float("inf"))
    with pytest.raises(ValueError, match=r"CosineAnnealingLR: eta_min must be >= 0\.0"):
        CosineAnnealingLR(opt, T_max=2, eta_min=-0.1)
    with pytest.raises(ValueError, match="initial_lr"):
        StepLR(optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1), step_size=2, last_epoch=4)
    with pytest.raises(TypeError):
        StepLR("optimizer", step_size=2)


@pytest.mark.parametrize("make", [
    lambda o: StepLR(o, step_size=np.int64(2), gamma=np.float32(0.5), last_epoch=np.int64(-1)),
    lambda o: StepLR(o, np.int32(2), 0.5),
    lambda o: CosineAnnealingLR(o, T_max=np.int64(4), eta_min=np.float64(0.0), last_epoch=np.int8(-1)),
])
def test_schedulers_accept_numpy_integers(make):
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1)
    scheduler = make(opt)
    ints = [getattr(scheduler, k) for k in ("last_epoch", "step_size", "T_max") if hasattr(scheduler, k)]
    assert len(ints) == 2 and all(type(v) is int for v in ints)
    rates = lrs(scheduler, 4)
    expected = ([0.1, 0.1, 0.05, 0.05, 0.025] if isinstance(scheduler, StepLR)
                else [(1 + math.cos(math.pi * e / 4)) / 20 for e in range(5)])
    np.testing.assert_allclose(rates, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("make, match", [
    (lambda o: StepLR(o, step_size=True), "StepLR: step_size must be an int, got True"),
    (lambda o: StepLR(o, step_size=2.0), "StepLR: step_size must be an int"),
    (lambda o: StepLR(o, step_size="2"), "StepLR: step_size must be an int"),
    (lambda o: StepLR(o, step_size=2, last_epoch=False), "StepLR: last_epoch must be an int"),
    (lambda o: StepLR(o, step_size=2, gamma="0.1"), "StepLR: gamma must be a real number"),
    (lambda o: CosineAnnealingLR(o, T_max=np.True_), "CosineAnnealingLR: T_max must be an int"),
    (lambda o: CosineAnnealingLR(o, T_max=4, eta_min=None), "CosineAnnealingLR: eta_min must be a real number"),
])
def test_scheduler_arguments_of_the_wrong_kind_are_type_errors(make, match):
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1)
    with pytest.raises(TypeError, match=match):
        make(opt)
    assert "initial_lr" not in opt.param_groups[0]  # refused before it touched the optimiser
