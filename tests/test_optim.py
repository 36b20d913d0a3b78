"""Optimisers against hand-computed updates (and PyTorch when installed), state dicts, validation, schedulers."""

import math

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import nn, optim
from tinygrad_cnn.optim.lr_scheduler import CosineAnnealingLR, StepLR
from tinygrad_cnn.serialization import load, save
from tinygrad_cnn.versions import mark_modified


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
    lambda ps: optim.Adam(ps, amsgrad=True, maximize=True),
    lambda ps: optim.RMSprop(ps, momentum=0.5, centered=True, weight_decay=0.1),
    lambda ps: optim.Adagrad(ps, lr_decay=0.1), lambda ps: optim.Adadelta(ps, weight_decay=0.1),
    lambda ps: optim.Adamax(ps), lambda ps: optim.NAdam(ps, decoupled_weight_decay=True, weight_decay=0.1),
    lambda ps: optim.RAdam(ps, betas=(0.9, 0.9), weight_decay=0.1),
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
    assert not opt.state.get(unused, {}).get("step") and unused.grad is None  # Adagrad's state exists from the start


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


# ---- the other optimisers, by hand: p0 = 1, gradients g1 = 2 then g2 = -1 (set directly) ---------------------------
def two_steps(make_opt, grads=(2.0, -1.0), p0=1.0):
    p = nn.Parameter(np.array([p0]))
    opt = make_opt([p])
    out = []
    for g in grads:
        p.grad = tc.Tensor(np.array([g]))
        opt.step()
        out.append(p.data[0])
    return out, opt, p


def test_rmsprop_by_hand():
    eps = 1e-8
    got, _, _ = two_steps(lambda ps: optim.RMSprop(ps))  # lr 0.01, alpha 0.99
    v1, v2 = 0.01 * 4, 0.99 * 0.04 + 0.01 * 1
    p1 = 1 - 0.01 * 2 / (math.sqrt(v1) + eps)
    np.testing.assert_allclose(got, [p1, p1 + 0.01 / (math.sqrt(v2) + eps)], rtol=1e-14)
    # centered: the variance v - mean(g)^2 with mean(g)_1 = 0.02, _2 = 0.99 * 0.02 - 0.01 = 0.0098
    got, opt, p = two_steps(lambda ps: optim.RMSprop(ps, centered=True))
    p1 = 1 - 0.01 * 2 / (math.sqrt(0.04 - 0.02**2) + eps)
    np.testing.assert_allclose(got, [p1, p1 + 0.01 / (math.sqrt(v2 - 0.0098**2) + eps)], rtol=1e-14)
    assert set(opt.state[p]) == {"step", "square_avg", "grad_avg"}
    # momentum 0.5: b1 = g1 / d1 = 2 / 0.2 = 10, b2 = 5 - 1 / d2
    got, opt, p = two_steps(lambda ps: optim.RMSprop(ps, momentum=0.5))
    b1 = 2 / (0.2 + eps)
    b2 = 0.5 * b1 - 1 / (math.sqrt(v2) + eps)
    np.testing.assert_allclose(got, [1 - 0.01 * b1, 1 - 0.01 * b1 - 0.01 * b2], rtol=1e-14)
    assert set(opt.state[p]) == {"step", "square_avg", "momentum_buffer"} and opt.state[p]["step"] == 2


def test_adagrad_by_hand():
    got, opt, p = two_steps(lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.5, initial_accumulator_value=1.0))
    p1 = 1 - 0.1 * 2 / (math.sqrt(1 + 4) + 1e-10)
    p2 = p1 + 0.1 / 1.5 / (math.sqrt(1 + 4 + 1) + 1e-10)  # step 2: lr / (1 + 1 * lr_decay)
    np.testing.assert_allclose(got, [p1, p2], rtol=1e-14)
    assert opt.state[p]["step"] == 2 and opt.state[p]["sum"][0] == 6.0


def test_adagrad_state_exists_before_the_first_step_as_in_pytorch():
    p = nn.Parameter(np.zeros(3))
    opt = optim.Adagrad([p], initial_accumulator_value=0.25)
    assert opt.state[p]["step"] == 0
    np.testing.assert_array_equal(opt.state[p]["sum"], [0.25] * 3)
    q = nn.Parameter(np.zeros(2))
    opt.add_param_group({"params": [q], "initial_accumulator_value": 2.0})
    np.testing.assert_array_equal(opt.state[q]["sum"], [2.0, 2.0])


def test_adadelta_by_hand():
    eps = 1e-6
    got, _, _ = two_steps(lambda ps: optim.Adadelta(ps))  # lr 1, rho 0.9
    v1, v2 = 0.1 * 4, 0.9 * 0.4 + 0.1 * 1
    d1 = math.sqrt(0 + eps) / math.sqrt(v1 + eps) * 2
    u1 = 0.1 * d1 * d1
    d2 = math.sqrt(u1 + eps) / math.sqrt(v2 + eps) * -1
    np.testing.assert_allclose(got, [1 - d1, 1 - d1 - d2], rtol=1e-13)


def test_adamax_by_hand():
    eps = 1e-8
    got, _, _ = two_steps(lambda ps: optim.Adamax(ps))  # lr 0.002, betas (0.9, 0.999)
    u1 = 2 + eps
    p1 = 1 - 0.002 / 0.1 * 0.2 / u1
    u2 = max(0.999 * u1, 1 + eps)
    p2 = p1 - 0.002 / (1 - 0.81) * (0.9 * 0.2 - 0.1) / u2
    np.testing.assert_allclose(got, [p1, p2], rtol=1e-14)


def test_nadam_by_hand():
    eps = 1e-8
    got, opt, p = two_steps(lambda ps: optim.NAdam(ps), grads=(2.0,))  # lr 0.002, momentum_decay 0.004
    mu1, mu2 = 0.9 * (1 - 0.5 * 0.96**0.004), 0.9 * (1 - 0.5 * 0.96**0.008)
    denom = math.sqrt(0.001 * 4 / 0.001) + eps
    p1 = 1 - 0.002 * 2 / denom - 0.002 * mu2 / (1 - mu1 * mu2) * 0.2 / denom
    assert got[0] == pytest.approx(p1, rel=1e-14)
    assert opt.state[p]["mu_product"] == pytest.approx(mu1, rel=1e-15)


def test_radam_by_hand_unrectified_then_rectified():
    # a constant gradient 1: m_t / (1 - b1^t) = 1 and v_t = 1 - b2^t, so an unrectified step moves p by lr and a
    # rectified one by lr * r_t * sqrt(1 - b2^t) / (sqrt(1 - b2^t) + eps)
    b2, lr, eps = 0.9, 0.1, 1e-8
    got, _, _ = two_steps(lambda ps: optim.RAdam(ps, lr=lr, betas=(0.5, b2)), grads=[1.0] * 8, p0=0.0)
    rho_inf = 2 / (1 - b2) - 1
    expected, p = [], 0.0
    for t in range(1, 9):
        rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho > 5:
            r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            c = math.sqrt(1 - b2**t)
            p -= lr * r * c / (c + eps)
        else:
            p -= lr
        expected.append(p)
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    assert got[0] == pytest.approx(-0.1) and got[1] == pytest.approx(-0.2)  # rho_1 = 1, rho_2 = 1.95
    assert got[7] - got[6] != pytest.approx(-0.1)  # rectified by then


@pytest.mark.parametrize("amsgrad, expected_denominator", [(False, math.sqrt(1) / math.sqrt(0.75)),
                                                            (True, math.sqrt(2) / math.sqrt(0.75))])
def test_adam_amsgrad_keeps_the_largest_second_moment(amsgrad, expected_denominator):
    # betas (0.9, 0.5), g = 2 then 0: v1 = 2, v2 = 1 < v1; with amsgrad the step divides by sqrt(max(v)) = sqrt(2)
    lr, eps = 0.1, 1e-8
    got, opt, p = two_steps(lambda ps: optim.Adam(ps, lr=lr, betas=(0.9, 0.5), amsgrad=amsgrad), grads=(2.0, 0.0))
    p1 = 1 - lr * (0.2 / 0.1) / (math.sqrt(2) / math.sqrt(0.5) + eps)
    p2 = p1 - lr / 0.19 * 0.18 / (expected_denominator + eps)
    np.testing.assert_allclose(got, [p1, p2], rtol=1e-14)
    assert ("max_exp_avg_sq" in opt.state[p]) == amsgrad


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam",
                                  "RAdam"])
def test_maximize_is_descent_on_the_negated_gradient(name):
    up, _, _ = two_steps(lambda ps: getattr(optim, name)(ps, maximize=True), grads=(2.0, -1.0, 0.5))
    down, _, _ = two_steps(lambda ps: getattr(optim, name)(ps), grads=(-2.0, 1.0, -0.5))
    assert up == down and up[0] != 1.0


def test_adam_decoupled_weight_decay_flag_is_adamw():
    a, _, _ = two_steps(lambda ps: optim.Adam(ps, weight_decay=0.1, decoupled_weight_decay=True))
    b, opt, _ = two_steps(lambda ps: optim.AdamW(ps, weight_decay=0.1))
    assert a == b and opt.param_groups[0]["decoupled_weight_decay"] is True


@pytest.mark.parametrize("name, defaults", [
    ("SGD", {"lr": 1e-3, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False,
             "maximize": False}),
    ("Adam", {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False}),
    ("AdamW", {"lr": 1e-3, "weight_decay": 1e-2, "decoupled_weight_decay": True}),
    ("RMSprop", {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0, "centered": False}),
    ("Adagrad", {"lr": 1e-2, "lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10}),
    ("Adadelta", {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0}),
    ("Adamax", {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0}),
    ("NAdam", {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8, "momentum_decay": 4e-3,
               "decoupled_weight_decay": False}),
    ("RAdam", {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "decoupled_weight_decay": False}),
])
def test_defaults_are_pytorchs(name, defaults):
    group = getattr(optim, name)([nn.Parameter(np.zeros(1))]).param_groups[0]
    for key, value in defaults.items():
        assert group[key] == value, key


# ---- PyTorch's error messages ----------------------------------------------------------------------------------
@pytest.mark.parametrize("make, match", [
    (lambda: optim.SGD([P], lr=-1), r"^SGD: Invalid learning rate: -1; lr must be >= 0\.0$"),
    (lambda: optim.Adam([P], lr=-0.5), r"^Adam: Invalid learning rate: -0\.5"),
    (lambda: optim.RMSprop([P], alpha=-1), r"^RMSprop: Invalid alpha value: -1"),
    (lambda: optim.RMSprop([P], momentum=-0.1), r"^RMSprop: Invalid momentum value: -0\.1"),
    (lambda: optim.RMSprop([P], eps=-1), r"^RMSprop: Invalid epsilon value: -1"),
    (lambda: optim.Adagrad([P], lr_decay=-1), r"^Adagrad: Invalid lr_decay value: -1"),
    (lambda: optim.Adagrad([P], initial_accumulator_value=-1), "Invalid initial_accumulator_value value: -1"),
    (lambda: optim.Adadelta([P], rho=1.5), r"^Adadelta: Invalid rho value: 1\.5; rho must be in \[0\.0, 1\.0\]"),
    (lambda: optim.Adamax([P], betas=(1.0, 0.5)), r"^Adamax: Invalid beta parameter at index 0: 1; beta1 must be in"),
    (lambda: optim.NAdam([P], betas=(0.9, 1.5)), r"^NAdam: Invalid beta parameter at index 1: 1\.5"),
    (lambda: optim.NAdam([P], momentum_decay=-1), r"^NAdam: Invalid momentum_decay value: -1"),
    (lambda: optim.RAdam([P], weight_decay=-1), r"^RAdam: Invalid weight_decay value: -1"),
    (lambda: optim.RAdam([P], lr=float("inf")), "RAdam: learning rate lr must be finite"),
])
def test_invalid_values_in_pytorchs_words(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("make, match", [
    (lambda: optim.RMSprop([P], centered=1), "RMSprop: centered must be True or False"),
    (lambda: optim.Adam([P], amsgrad="yes"), "Adam: amsgrad must be True or False"),
    (lambda: optim.NAdam([P], decoupled_weight_decay=None), "NAdam: decoupled_weight_decay must be True or False"),
    (lambda: optim.Adagrad([P], maximize=0), "Adagrad: maximize must be True or False"),
    (lambda: optim.Adadelta([P], rho="0.9"), "Adadelta: rho must be a real number"),
    (lambda: optim.Adam([P], betas=(0.9, None)), "Adam: beta2 must be a real number"),
    (lambda: optim.SGD([P]).zero_grad(set_to_none=None), "zero_grad: set_to_none must be True or False"),
])
def test_wrong_kinds_are_type_errors(make, match):
    with pytest.raises(TypeError, match=match):
        make()


# ---- groups, zero_grad ---------------------------------------------------------------------------------------------
def test_add_param_group_takes_defaults_and_refuses_repeats():
    a, b = nn.Parameter(np.array([1.0])), nn.Parameter(np.array([1.0]))
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.5})
    assert len(opt.param_groups) == 2 and opt.param_groups[1]["momentum"] == 0.9
    assert opt.param_groups[1]["params"] == [b]
    with pytest.raises(ValueError, match="more than once"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="Invalid learning rate"):
        opt.add_param_group({"params": [nn.Parameter(np.zeros(1))], "lr": -2})
    assert len(opt.param_groups) == 2
    for p in (a, b):
        p.grad = tc.Tensor(np.array([1.0]))
    opt.step()
    assert (a.data[0], b.data[0]) == (pytest.approx(0.9), pytest.approx(0.5))


def test_zero_grad_set_to_none_false_writes_zeros_in_place():
    p = nn.Parameter(np.array([1.0, 2.0]))
    (p * p).sum().backward()
    grad = p.grad
    opt = optim.SGD([p], lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad
    np.testing.assert_array_equal(p.grad.data, [0.0, 0.0])
    opt.zero_grad()
    assert p.grad is None
    opt.zero_grad(set_to_none=False)  # no gradient: stays None, as in PyTorch
    assert p.grad is None


def test_state_is_a_defaultdict_keyed_by_parameter():
    p = nn.Parameter(np.zeros(2))
    opt = optim.SGD([p], lr=0.1)
    assert opt.state[p] == {} and p in opt.state
    assert opt.state_dict()["state"] == {}  # an empty entry is no state


# ---- every optimiser's state dict, through a checkpoint ---------------------------------------------------------
ALL = [
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}), ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("AdamW", {"lr": 0.01, "amsgrad": True}), ("RMSprop", {"momentum": 0.5, "centered": True}),
    ("Adagrad", {"lr_decay": 0.1, "initial_accumulator_value": 0.1}), ("Adadelta", {"weight_decay": 0.01}),
    ("Adamax", {}), ("NAdam", {"decoupled_weight_decay": True, "weight_decay": 0.01}),
    ("RAdam", {"betas": (0.9, 0.9)}),
]


@pytest.mark.parametrize("name, kwargs", ALL, ids=[n for n, _ in ALL])
def test_every_state_dict_round_trips_through_a_checkpoint(name, kwargs, tmp_path):
    rng = np.random.default_rng(1)
    grads = [[rng.normal(size=(3, 2)), rng.normal(size=2)] for _ in range(8)]

    def build():
        params = [nn.Parameter(np.ones((3, 2))), nn.Parameter(np.full(2, -1.0))]
        return params, getattr(optim, name)([{"params": [params[0]]}, {"params": [params[1]], "lr": 0.02}], **kwargs)

    def run(params, opt, gs):
        for g in gs:
            for p, gi in zip(params, g):
                p.grad = tc.Tensor(gi)
            opt.step()

    params, opt = build()
    run(params, opt, grads[:4])
    save({"params": [p.data.copy() for p in params], "opt": opt.state_dict()}, tmp_path / "o.npz")
    run(params, opt, grads[4:])
    state = load(tmp_path / "o.npz")
    params2, opt2 = build()
    for p, saved in zip(params2, state["params"]):
        p.data[...] = saved
    opt2.load_state_dict(state["opt"])
    assert opt2.param_groups[1]["lr"] == 0.02
    run(params2, opt2, grads[4:])
    for a, b in zip(params, params2):
        assert a.data.tobytes() == b.data.tobytes()


# ---- writing an optimiser ------------------------------------------------------------------------------------------
class HandAdam(optim.Optimizer):
    """Adam written PyTorch's way: override step, Tensor state in self.state[p], in-place Tensor methods."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with tc.enable_grad():
                loss = closure()
        with tc.no_grad():
            for group in self.param_groups:
                beta1, beta2 = group["betas"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if not state:
                        state["step"] = 0
                        state["exp_avg"] = tc.zeros_like(p)
                        state["exp_avg_sq"] = tc.zeros_like(p)
                    state["step"] += 1
                    t = state["step"]
                    state["exp_avg"].lerp_(p.grad, 1 - beta1)
                    state["exp_avg_sq"].mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                    denom = (state["exp_avg_sq"].sqrt() / math.sqrt(1 - beta2**t)).add_(group["eps"])
                    p.addcdiv_(state["exp_avg"], denom, value=-group["lr"] / (1 - beta1**t))
        return loss


def test_an_optimiser_written_pytorchs_way_matches_the_builtin(tmp_path):
    rng = np.random.default_rng(2)
    grads = [rng.normal(size=(2, 3)) for _ in range(6)]
    p, q = nn.Parameter(np.ones((2, 3))), nn.Parameter(np.ones((2, 3)))
    mine, builtin = HandAdam([p], lr=0.01), optim.Adam([q], lr=0.01)
    for g in grads[:3]:
        p.grad, q.grad = tc.Tensor(g), tc.Tensor(g)
        mine.step()
        builtin.step()
    np.testing.assert_allclose(p.data, q.data, rtol=1e-14)
    # its state dict (Tensors in the state) goes through a checkpoint too
    save(mine.state_dict(), tmp_path / "hand.npz")
    fresh = HandAdam([nn.Parameter(p.data.copy())], lr=0.5)
    fresh.load_state_dict(load(tmp_path / "hand.npz"))
    assert fresh.param_groups[0]["lr"] == 0.01 and fresh.state[fresh.param_groups[0]["params"][0]]["step"] == 3
    with pytest.raises(ValueError, match="HandAdam: Invalid learning rate: -1"):
        HandAdam([p], lr=-1)


class HalvingSGD(optim.Optimizer):
    """The array-level hook: update_group with in-place NumPy on p.data."""

    def __init__(self, params, lr=0.1):
        super().__init__(params, {"lr": lr})

    def update_group(self, group):
        for p in group["params"]:
            g = self.grad_array(p)
            if g is not None:
                p.data -= group["lr"] * g
                group["lr"] /= 2
                mark_modified(p.data)


def test_update_group_hook_and_a_subclass_without_an_update():
    p = nn.Parameter(np.array([1.0]))
    opt = HalvingSGD([p])
    for _ in range(2):
        p.grad = tc.Tensor(np.array([1.0]))
        opt.step()
    assert p.data[0] == pytest.approx(1 - 0.1 - 0.05)

    class Nothing(optim.Optimizer):
        pass

    p.grad = tc.Tensor(np.array([1.0]))
    with pytest.raises(NotImplementedError, match="Nothing overrides neither step"):
        Nothing([p], {"lr": 0.1}).step()


# ---- gradient clipping and flat vectors (nn.utils) ------------------------------------------------------------------
def with_grads(*grads, dtype=np.float64):
    params = []
    for g in grads:
        p = nn.Parameter(np.zeros(np.shape(g), dtype))
        p.grad = tc.Tensor(np.array(g, dtype))
        params.append(p)
    return params


def test_clip_grad_norm_by_hand():
    a, b = with_grads([3.0, 0.0], [[4.0]])  # total 2-norm 5
    total = nn.utils.clip_grad_norm_([a, b], max_norm=1.0)
    assert isinstance(total, tc.Tensor) and total.shape == () and total.item() == 5.0
    scale = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(a.grad.data, [3 * scale, 0.0], rtol=1e-15)
    np.testing.assert_allclose(b.grad.data, [[4 * scale]], rtol=1e-15)
    # below the bound nothing changes (the factor is clamped at 1)
    c, = with_grads([0.3, 0.4])
    assert nn.utils.clip_grad_norm_(c, 1.0).item() == pytest.approx(0.5)
    np.testing.assert_array_equal(c.grad.data, [0.3, 0.4])


@pytest.mark.parametrize("norm_type, total", [(1, 10.0), (1.0, 10.0), (math.inf, 4.0), ("inf", 4.0),
                                              (3, (1 + 8 + 27 + 64) ** (1 / 3)), (-math.inf, 1.0),
                                              (0, 2.0)])  # 0: the count of non-zero norms, as PyTorch
def test_clip_grad_norm_types(norm_type, total):
    params = with_grads([1.0, -2.0], [3.0, -4.0])
    got = nn.utils.clip_grad_norm_(params, max_norm=0.5, norm_type=norm_type)
    assert got.item() == pytest.approx(total, rel=1e-14)
    scale = min(1.0, 0.5 / (total + 1e-6))
    np.testing.assert_allclose(params[1].grad.data, [3 * scale, -4 * scale], rtol=1e-14)


def test_clip_grad_norm_skips_missing_grads_keeps_dtype_and_the_grad_object():
    a, = with_grads([6.0, 8.0], dtype=np.float32)
    grad = a.grad
    empty = nn.Parameter(np.zeros(2, np.float32))
    total = nn.utils.clip_grad_norm_([a, empty], 5.0)
    assert total.dtype == np.float32 and total.item() == pytest.approx(10.0)
    assert a.grad is grad and a.grad.dtype == np.float32 and empty.grad is None
    np.testing.assert_allclose(a.grad.data, [3.0, 4.0], rtol=1e-6)
    assert nn.utils.clip_grad_norm_([empty], 1.0).item() == 0.0


def test_clip_grad_norm_nonfinite():
    a, = with_grads([np.inf, 1.0])
    with pytest.raises(RuntimeError, match=r"clip_grad_norm_: The total norm of order 2\.0 .* is non-finite"):
        nn.utils.clip_grad_norm_([a], 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(a.grad.data, [np.inf, 1.0])  # untouched when refused
    assert math.isinf(nn.utils.clip_grad_norm_([a], 1.0).item())


@pytest.mark.parametrize("call, error, match", [
    (lambda ps: nn.utils.clip_grad_norm_(ps, "1"), TypeError, "clip_grad_norm_: max_norm must be a real number"),
    (lambda ps: nn.utils.clip_grad_norm_(ps, 1.0, norm_type="two"), ValueError, "norm_type must be a number or"),
    (lambda ps: nn.utils.clip_grad_norm_(3, 1.0), TypeError, "parameters must be a Tensor or an iterable"),
    (lambda ps: nn.utils.clip_grad_norm_([np.zeros(2)], 1.0), TypeError, r"parameters\[0\] is a ndarray"),
    (lambda ps: nn.utils.clip_grad_value_(ps, -1.0), ValueError, r"clip_grad_value_: clip_value must be >= 0\.0"),
    (lambda ps: nn.utils.vector_to_parameters(np.zeros(2), ps), TypeError, "expected a Tensor, but got: ndarray"),
    (lambda ps: nn.utils.vector_to_parameters(tc.Tensor(np.zeros(3)), ps), ValueError, "vec has 3 elements, the "
                                                                                        "parameters 2"),
    (lambda ps: nn.utils.vector_to_parameters(tc.Tensor(np.zeros((1, 2))), ps), ValueError, "vec must be 1-D"),
])
def test_clip_and_vector_errors(call, error, match):
    with pytest.raises(error, match=match):
        call(with_grads([1.0, 2.0]))


def test_clip_grad_value_by_hand():
    a, b = with_grads([-3.0, 0.5, 2.0], [[0.1, -0.2]])
    assert nn.utils.clip_grad_value_([a, b], clip_value=1.0) is None
    np.testing.assert_array_equal(a.grad.data, [-1.0, 0.5, 1.0])
    np.testing.assert_array_equal(b.grad.data, [[0.1, -0.2]])


def test_parameters_to_vector_and_back():
    model = nn.Linear(3, 2)
    vec = nn.utils.parameters_to_vector(model.parameters())
    assert vec.shape == (8,)
    np.testing.assert_array_equal(vec.data, np.concatenate([model.weight.data.ravel(), model.bias.data]))
    (vec * tc.Tensor(np.arange(8.0, dtype=np.float32))).sum().backward()  # differentiable
    np.testing.assert_array_equal(model.weight.grad.data, np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(model.bias.grad.data, [6.0, 7.0])
    nn.utils.vector_to_parameters(tc.Tensor(np.arange(8.0, dtype=np.float32)), model.parameters())
    np.testing.assert_array_equal(model.weight.data, np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(model.bias.data, [6.0, 7.0])
    assert model.weight.dtype == np.float32 and model.weight.is_leaf


def test_prepared_grads_applies_maximize_weight_decay_and_counts_steps():
    class Plain(optim.Optimizer):
        def __init__(self, params, **options):
            super().__init__(params, {"lr": 0.5, "weight_decay": 0.1, "maximize": False,
                                      "decoupled_weight_decay": False, **options})

        def update_group(self, group):
            self.seen = [(g.copy(), step, p.data.copy()) for p, g, step in self.prepared_grads(group)]

    for options, g_expected, p_expected in [
        ({}, [1.0 + 0.1 * 2.0], [2.0]),                                # L2: g + lambda p
        ({"maximize": True}, [-1.0 + 0.1 * 2.0], [2.0]),              # ascent: -g, then the decay
        ({"decoupled_weight_decay": True}, [1.0], [2.0 * (1 - 0.5 * 0.1) ** 2]),  # p scaled by 1 - lr lambda
    ]:
        p, unused = nn.Parameter(np.array([2.0])), nn.Parameter(np.array([3.0]))
        p.grad = tc.tensor([1.0], dtype=tc.float64)
        opt = Plain([p, unused], **options)
        opt.step()
        opt.step()
        (g, step, data), = opt.seen  # the parameter without a gradient is skipped
        assert np.allclose(g, g_expected) and step == 2 and opt.state[p]["step"] == 2
        assert unused not in opt.state and np.allclose(data, p_expected)  # (the rule itself does not update p)
