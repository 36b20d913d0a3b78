"""Every optimiser and option combination, step by step against PyTorch (skipped when it is not installed).

Both sides start from the same parameters and see the same sequence of gradients (set directly, so the check is
of the update rule alone); after each of 10 steps the parameters and every state entry must agree.
"""

import itertools

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import nn, optim

torch = pytest.importorskip("torch")


def combos(base, **options):
    """base kwargs with every combination of the option values."""
    keys = list(options)
    return [{**base, **dict(zip(keys, values))} for values in itertools.product(*options.values())]


CONFIGS = (
    [("SGD", kw) for kw in combos({"lr": 0.05}, momentum=[0.0, 0.9], weight_decay=[0.0, 0.1],
                                  maximize=[False, True])]
    + [("SGD", kw) for kw in combos({"lr": 0.05, "momentum": 0.8}, dampening=[0.3], weight_decay=[0.0, 0.01],
                                    maximize=[False, True])]
    + [("SGD", kw) for kw in combos({"lr": 0.05, "momentum": 0.8, "nesterov": True}, weight_decay=[0.0, 0.1],
                                    maximize=[False, True])]
    + [("Adam", kw) for kw in combos({"lr": 0.02, "betas": (0.8, 0.9), "eps": 1e-6}, weight_decay=[0.0, 0.1],
                                     amsgrad=[False, True], maximize=[False, True],
                                     decoupled_weight_decay=[False, True])]
    + [("AdamW", kw) for kw in combos({"lr": 0.02, "betas": (0.7, 0.99)}, weight_decay=[0.0, 0.3],
                                      amsgrad=[False, True], maximize=[False, True])]
    + [("RMSprop", kw) for kw in combos({"lr": 0.01, "alpha": 0.9}, weight_decay=[0.0, 0.1], momentum=[0.0, 0.7],
                                        centered=[False, True], maximize=[False, True])]
    + [("Adagrad", kw) for kw in combos({"lr": 0.1}, lr_decay=[0.0, 0.05], weight_decay=[0.0, 0.1],
                                        initial_accumulator_value=[0.0, 0.4], maximize=[False, True])]
    + [("Adagrad", {"lr": 0.1, "eps": 1e-3})]
    + [("Adadelta", kw) for kw in combos({"lr": 0.5}, rho=[0.9, 0.5], weight_decay=[0.0, 0.1], eps=[1e-6, 1e-2],
                                         maximize=[False, True])]
    + [("Adamax", kw) for kw in combos({"lr": 0.02, "betas": (0.8, 0.95)}, weight_decay=[0.0, 0.1],
                                       eps=[1e-8, 0.5], maximize=[False, True])]
    + [("NAdam", kw) for kw in combos({"lr": 0.02, "betas": (0.8, 0.95)}, weight_decay=[0.0, 0.1],
                                      momentum_decay=[4e-3, 0.1], decoupled_weight_decay=[False, True],
                                      maximize=[False, True])]
    # beta2 = 0.5 gives rho_inf = 3 (never rectified); 0.9 rectifies from step 6 on; 0.999 from step 6 too
    + [("RAdam", kw) for kw in combos({"lr": 0.02}, betas=[(0.8, 0.9), (0.9, 0.5), (0.9, 0.999)],
                                      weight_decay=[0.0, 0.1], decoupled_weight_decay=[False, True],
                                      maximize=[False, True])]
)
DEFAULTS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam"]


def ident(config):
    name, kwargs = config
    return name + "-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


@pytest.fixture
def float64_default():
    """PyTorch keeps scalar state (NAdam's mu_product) in the default dtype: float64 for an exact comparison."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def run_both(name, kwargs, dtype=np.float64, steps=10, seed=0, groups=False):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (5,)]
    p0 = [rng.normal(size=s).astype(dtype) for s in shapes]
    grads = [[rng.normal(size=s).astype(dtype) for s in shapes] for _ in range(steps)]
    ours = [nn.Parameter(p.copy()) for p in p0]
    theirs = [torch.tensor(p.copy(), requires_grad=True) for p in p0]
    if groups:  # a second group with its own learning rate
        opt_ours = getattr(optim, name)([{"params": [ours[0]]}, {"params": [ours[1]], "lr": 0.003}], **kwargs)
        opt_theirs = getattr(torch.optim, name)([{"params": [theirs[0]]}, {"params": [theirs[1]], "lr": 0.003}],
                                                **kwargs, foreach=False)
    else:
        opt_ours = getattr(optim, name)(ours, **kwargs)
        opt_theirs = getattr(torch.optim, name)(theirs, **kwargs, foreach=False)
    yield opt_ours, opt_theirs, ours, theirs
    for step, gs in enumerate(grads):
        for a, b, g in zip(ours, theirs, gs):
            a.grad = tg.Tensor(g.copy())
            b.grad = torch.tensor(g.copy())
        opt_ours.step()
        opt_theirs.step()
        yield step, opt_ours, opt_theirs, ours, theirs


def assert_states_match(opt_ours, opt_theirs, ours, theirs, rtol, where):
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=rtol, atol=rtol, err_msg=where)
        mine, theirs_state = opt_ours.state[a], opt_theirs.state[b]
        assert set(mine) == set(theirs_state), where
        for key, value in theirs_state.items():
            value = value.detach().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
            np.testing.assert_allclose(np.asarray(mine[key], dtype=np.float64), value.astype(np.float64),
                                       rtol=rtol, atol=rtol, err_msg=f"{where}: state {key}")


@pytest.mark.parametrize("config", CONFIGS, ids=[ident(c) for c in CONFIGS])
def test_ten_steps_match_pytorch(config, float64_default):
    name, kwargs = config
    runs = run_both(name, kwargs)
    next(runs)
    for step, opt_ours, opt_theirs, ours, theirs in runs:
        assert_states_match(opt_ours, opt_theirs, ours, theirs, 1e-10, f"{ident(config)} step {step + 1}")


@pytest.mark.parametrize("name", DEFAULTS)
def test_defaults_match_pytorch(name, float64_default):
    runs = run_both(name, {})
    opt_ours, opt_theirs, _, _ = next(runs)
    theirs_group = opt_theirs.param_groups[0]
    for key, value in opt_ours.param_groups[0].items():
        if key != "params":
            assert theirs_group[key] == value, (name, key)
    for step, opt_ours, opt_theirs, ours, theirs in runs:
        assert_states_match(opt_ours, opt_theirs, ours, theirs, 1e-10, f"{name} defaults step {step + 1}")


@pytest.mark.parametrize("name", DEFAULTS)
def test_param_groups_match_pytorch(name, float64_default):
    runs = run_both(name, {}, groups=True)
    next(runs)
    for step, opt_ours, opt_theirs, ours, theirs in runs:
        assert_states_match(opt_ours, opt_theirs, ours, theirs, 1e-10, f"{name} groups step {step + 1}")


@pytest.mark.parametrize("name", DEFAULTS)
def test_float32_matches_pytorch(name):
    runs = run_both(name, {"lr": 0.01}, dtype=np.float32)
    next(runs)
    for _, _, _, ours, theirs in runs:
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-5, atol=1e-5)
            assert a.dtype == np.float32


@pytest.mark.parametrize("name", DEFAULTS)
def test_state_dict_has_pytorchs_keys(name, float64_default):
    runs = run_both(name, {"amsgrad": True} if name in ("Adam", "AdamW") else
                    {"momentum": 0.5, "centered": True} if name == "RMSprop" else
                    {"momentum": 0.5} if name == "SGD" else {})
    next(runs)
    for _ in range(3):
        _, opt_ours, opt_theirs, _, _ = next(runs)
    ours, theirs = opt_ours.state_dict(), opt_theirs.state_dict()
    assert set(ours["state"]) == set(theirs["state"])
    for index, entry in theirs["state"].items():
        assert set(ours["state"][index]) == set(entry)
    assert set(ours["param_groups"][0]) <= set(theirs["param_groups"][0])


def test_closure_step_matches_pytorch():
    p0 = np.array([1.5, -0.5])
    ours, theirs = nn.Parameter(p0.copy()), torch.tensor(p0.copy(), requires_grad=True)
    opt_ours, opt_theirs = optim.RMSprop([ours], lr=0.1), torch.optim.RMSprop([theirs], lr=0.1)

    def make_closure(p, opt):
        def closure():
            opt.zero_grad()
            loss = (p * p * p).sum()
            loss.backward()
            return loss
        return closure

    for _ in range(5):
        a = opt_ours.step(make_closure(ours, opt_ours))
        b = opt_theirs.step(make_closure(theirs, opt_theirs))
        assert a.item() == pytest.approx(b.item(), rel=1e-12)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, float("inf"), 0.0, -float("inf")])
@pytest.mark.parametrize("max_norm", [0.1, 1e6])
def test_clip_grad_norm_matches_pytorch(norm_type, max_norm, dtype):
    rng = np.random.default_rng(3)
    grads = [rng.normal(size=s).astype(dtype) for s in [(3, 4), (5,), (2, 2, 2)]]
    ours = [nn.Parameter(np.zeros_like(g)) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.from_numpy(g).dtype, requires_grad=True) for g in grads]
    for a, b, g in zip(ours, theirs, grads):
        a.grad, b.grad = tg.Tensor(g.copy()), torch.tensor(g.copy())
    total_ours = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    total_theirs = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type, foreach=False)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(total_ours.item(), total_theirs.item(), rtol=rtol)
    assert total_ours.dtype == dtype
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=rtol, atol=rtol)


def test_clip_grad_value_and_vectors_match_pytorch():
    rng = np.random.default_rng(4)
    grads = [rng.normal(size=s) for s in [(3, 4), (5,)]]
    ours = [nn.Parameter(g * 2) for g in grads]
    theirs = [torch.tensor(g * 2, requires_grad=True) for g in grads]
    for a, b, g in zip(ours, theirs, grads):
        a.grad, b.grad = tg.Tensor(g.copy()), torch.tensor(g.copy())
    nn.utils.clip_grad_value_(ours, 0.5)
    torch.nn.utils.clip_grad_value_(theirs, 0.5)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.grad.data, b.grad.numpy())
    np.testing.assert_array_equal(nn.utils.parameters_to_vector(ours).data,
                                  torch.nn.utils.parameters_to_vector(theirs).detach().numpy())
    vec = rng.normal(size=17)
    nn.utils.vector_to_parameters(tg.Tensor(vec), ours)
    torch.nn.utils.vector_to_parameters(torch.tensor(vec), theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.data, b.detach().numpy())
