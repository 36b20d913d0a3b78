"""Optimiser cases found missing by mutation testing (scripts/mutate.py on tinygrad_cnn/optim/): each test pins a
behaviour a plausible one-line change of the optimisers would break. References are hand-derived in float64."""

import math
import re

import numpy as np
import pytest
from test_optim import trajectory

import tinygrad_cnn as tc
from tinygrad_cnn import nn, optim
from tinygrad_cnn.optim.optimizer import lerp_
from tinygrad_cnn.versions import mark_modified


def exactly(message):
    """A pytest ``match`` pattern for exactly this message."""
    return "^" + re.escape(message) + "$"



class PlainGD(optim.Optimizer):
    """p -= lr * g through prepared_grads, with no weight_decay / maximize keys in its groups (their defaults
    apply); ``count_steps`` is passed through and the steps seen are recorded."""

    def __init__(self, params, lr=0.1, count_steps=True, **extra):
        self.count_steps, self.steps_seen = count_steps, []
        super().__init__(params, {"lr": lr, **extra})

    def update_group(self, group):
        for p, g, step in self.prepared_grads(group, count_steps=self.count_steps):
            self.steps_seen.append(step)
            p.data -= group["lr"] * g
            mark_modified(p.data)


# ---- SGD -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, expected", [
    # momentum 1 is still momentum: b1 = 2, p = 0.8; g = 1.6, b2 = 2 + 1.6 = 3.6, p = 0.44
    ({"momentum": 1.0}, [0.8, 0.44]),
    # dampening 1: the buffer ignores new gradients after the first step: b = 2, 1.8, 1.62
    ({"momentum": 0.9, "dampening": 1.0}, [0.8, 0.62, 0.458]),
    # L2 weight decay of exactly 1: g = 2p + p = 3p
    ({"weight_decay": 1.0}, [0.7, 0.49]),
])
def test_sgd_edge_hyperparameters_by_hand(kwargs, expected):
    got = trajectory(lambda ps: optim.SGD(ps, lr=0.1, **kwargs), steps=len(expected))
    np.testing.assert_allclose(got, expected, rtol=1e-12)


# ---- Adagrad, AdamW, RAdam ------------------------------------------------------------------------------------
def test_adagrad_accumulator_missing_from_a_loaded_state_starts_at_the_initial_value():
    p = nn.Parameter(np.array([1.0]))
    opt = optim.Adagrad([p], lr=0.1, initial_accumulator_value=0.5)
    opt.load_state_dict({"state": {}, "param_groups": opt.state_dict()["param_groups"]})
    p.grad = tc.Tensor(np.array([2.0]))
    opt.step()
    # s = 0.5 + 2^2 = 4.5, p = 1 - 0.1 * 2 / (sqrt(4.5) + 1e-10)
    np.testing.assert_allclose(p.data, [1.0 - 0.2 / (math.sqrt(4.5) + 1e-10)], rtol=1e-14)
    np.testing.assert_allclose(opt.state[p]["sum"], [4.5])


def test_adamw_decay_stays_decoupled_after_its_group_is_validated():
    p = nn.Parameter(np.array([1.0]))
    opt = optim.AdamW([p], lr=0.1, weight_decay=0.5)
    assert opt.param_groups[0]["decoupled_weight_decay"] is True
    p.grad = tc.Tensor(np.array([0.5]))
    opt.step()
    # p (1 - 0.1 * 0.5) = 0.95, then the first Adam step moves by lr * m_hat / (sqrt(v_hat) + eps) = 0.1 * 0.5/0.5
    np.testing.assert_allclose(p.data, [0.95 - 0.1 * 0.5 / (0.5 + 1e-8)], rtol=1e-12)


def test_radam_at_exactly_rho_5_takes_the_unrectified_step():
    """PyTorch rectifies only when rho_t > 5; with beta2 below, rho_6 is exactly 5.0 in float64."""
    beta1, beta2, lr, eps = 0.9, 0.8397685748659791, 0.1, 1e-8
    rho_inf = 2 / (1 - beta2) - 1
    assert rho_inf - 2 * 6 * beta2**6 / (1 - beta2**6) == 5.0  # the premise of the test
    p = nn.Parameter(np.array([1.0]))
    opt = optim.RAdam([p], lr=lr, betas=(beta1, beta2), eps=eps)
    x, m, v = 1.0, 0.0, 0.0
    for t in range(1, 7):
        p.grad = tc.Tensor(np.array([2 * x]))
        opt.step()
        g = 2 * x
        m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g
        bc1, bc2 = 1 - beta1**t, 1 - beta2**t
        rho_t = rho_inf - 2 * t * beta2**t / bc2
        step = lr * m / bc1
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            step *= rect * math.sqrt(bc2) / (math.sqrt(v) + eps)
        x -= step
        np.testing.assert_allclose(p.data, [x], rtol=1e-12, err_msg=f"step {t}")


# ---- messages in PyTorch's words, naming the optimiser ----------------------------------------------------------
@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adamax", "NAdam", "RAdam", "Adagrad", "Adadelta"])
def test_negative_eps_is_refused_in_pytorchs_words(name):
    with pytest.raises(ValueError, match=exactly(f"{name}: Invalid epsilon value: -1; eps must be >= 0.0")):
        getattr(optim, name)([nn.Parameter(np.ones(1))], eps=-1.0)


def test_validation_messages_show_the_value_and_the_interval():
    params = [nn.Parameter(np.ones(1))]
    with pytest.raises(ValueError, match=exactly("Adagrad: Invalid initial_accumulator_value value: -1; "
                                                 "initial_accumulator_value must be >= 0.0")):
        optim.Adagrad(params, initial_accumulator_value=-1.0)
    with pytest.raises(ValueError, match=exactly("Adam: Invalid beta parameter at index 1: 1; "
                                                 "beta2 must be in [0.0, 1.0)")):
        optim.Adam(params, betas=(0.9, 1.0))
    # integral values print as integers below 1e16, in repr() from there on
    with pytest.raises(ValueError, match=exactly("SGD: Invalid learning rate: -1e+16; lr must be >= 0.0")):
        optim.SGD(params, lr=-1e16)
    with pytest.raises(ValueError, match=exactly("SGD: Invalid learning rate: -999999999999999; lr must be >= 0.0")):
        optim.SGD(params, lr=-999999999999999.0)
    assert optim.SGD(params, momentum=0.5, dampening=1.0).param_groups[0]["dampening"] == 1.0  # [0, 1] inclusive


def test_errors_name_the_optimiser_first():
    p = nn.Parameter(np.ones(2))
    with pytest.raises(ValueError, match=r"^Adam: got an empty parameter list"):
        optim.Adam([])
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(TypeError, match=r"^SGD: a param group must be a dict with a 'params' key"):
        opt.add_param_group({"lr": 0.1})
    with pytest.raises(TypeError, match=r"^SGD\.zero_grad: set_to_none"):
        opt.zero_grad(set_to_none="yes")
    with pytest.raises(ValueError, match=r"^SGD\.load_state_dict: expected a dict with keys"):
        opt.load_state_dict({"state": {}})


# ---- the shared machinery ---------------------------------------------------------------------------------------
def test_prepared_grads_defaults_without_weight_decay_or_maximize_keys():
    first, second = nn.Parameter(np.array([1.0, 2.0])), nn.Parameter(np.array([3.0]))
    opt = PlainGD([first, second], lr=0.5)
    second.grad = tc.Tensor(np.array([2.0]))  # the first parameter has no gradient: skipped, not the end
    opt.step()
    np.testing.assert_array_equal(first.data, [1.0, 2.0])
    np.testing.assert_array_equal(second.data, [2.0])  # plain descent: no decay, no ascent
    assert opt.steps_seen == [1] and opt.state[second]["step"] == 1 and first not in opt.state


def test_prepared_grads_without_counting_yields_step_zero_and_stores_nothing():
    p = nn.Parameter(np.array([1.0]))
    opt = PlainGD([p], count_steps=False)
    for _ in range(2):
        p.grad = tc.Tensor(np.array([1.0]))
        opt.step()
    assert opt.steps_seen == [0, 0] and not opt.state.get(p)
    np.testing.assert_allclose(p.data, [0.8])


def test_lerp_is_pytorchs_two_branch_form_bit_for_bit():
    rng = np.random.default_rng(0)
    start, end = rng.standard_normal(2000), rng.standard_normal(2000) * 1e3
    for weight in (0.25, 0.5, 0.9):
        low = start + weight * (end - start)
        high = end - (end - start) * (1 - weight)
        assert not np.array_equal(low, high)  # the two forms round differently: the test can tell them apart
        out = start.copy()
        lerp_(out, end, weight)
        np.testing.assert_array_equal(out, low if weight < 0.5 else high)
    out = np.array([1e8], np.float32)
    lerp_(out, np.array([1.0], np.float32), 1.0)
    assert out[0] == 1.0  # exact at weight 1


def test_step_without_closure_returns_none():
    p = nn.Parameter(np.ones(1))
    p.grad = tc.Tensor(np.array([1.0]))
    assert optim.SGD([p], lr=0.1).step() is None


def test_repr_lists_each_group_like_pytorch():
    opt = optim.SGD([nn.Parameter(np.ones(1))], lr=0.1)
    opt.add_param_group({"params": [nn.Parameter(np.ones(1))], "lr": 0.2})
    assert repr(opt) == (
        "SGD (\nParameter Group 0\n    dampening: 0.0\n    lr: 0.1\n    maximize: False\n    momentum: 0.0\n"
        "    nesterov: False\n    weight_decay: 0.0\nParameter Group 1\n    dampening: 0.0\n    lr: 0.2\n"
        "    maximize: False\n    momentum: 0.0\n    nesterov: False\n    weight_decay: 0.0\n)")


def test_zero_grad_keep_memory_replaces_grads_it_must_not_write():
    base = np.arange(6.0)
    view, frozen = nn.Parameter(np.ones(3)), nn.Parameter(np.ones(2))
    array = nn.Parameter(np.ones(2))
    view.grad = tc.Tensor(base[::2])                 # a view of someone else's memory
    frozen_grad = np.array([1.0, 2.0])
    frozen_grad.flags.writeable = False
    frozen.grad = tc.Tensor(frozen_grad)             # owns its memory, read-only
    array.grad = np.array([5.0, 6.0])                # a plain array
    optim.SGD([view, frozen, array], lr=0.1).zero_grad(set_to_none=False)
    for p in (view, frozen, array):
        assert isinstance(p.grad, tc.Tensor) and p.grad.shape == p.shape
        np.testing.assert_array_equal(p.grad.data, np.zeros(p.shape))
    np.testing.assert_array_equal(base, np.arange(6.0))
    np.testing.assert_array_equal(frozen_grad, [1.0, 2.0])


def test_step_takes_array_gradients_and_read_only_parameters():
    p = nn.Parameter(np.array([1.0, 2.0]))
    p.grad = np.array([1.0, -1.0])
    ro = np.array([3.0])
    ro.flags.writeable = False
    q = nn.Parameter(ro)
    q.grad = tc.Tensor(np.array([1.0]))
    optim.SGD([p, q], lr=0.5).step()
    np.testing.assert_array_equal(p.data, [0.5, 2.5])
    np.testing.assert_array_equal(q.data, [2.5])
    np.testing.assert_array_equal(ro, [3.0])  # the read-only array was copied, not written


def test_state_dicts_are_deep_snapshots_both_ways():
    p = nn.Parameter(np.ones(1))
    opt = PlainGD([p], schedule=[[1, 2]])
    opt.state[p]["history"] = [[1.0]]
    saved = opt.state_dict()
    opt.param_groups[0]["schedule"][0].append(3)
    opt.state[p]["history"][0].append(2.0)
    assert saved["param_groups"][0]["schedule"] == [[1, 2]] and saved["state"][0]["history"] == [[1.0]]
    other = PlainGD([nn.Parameter(np.ones(1))], schedule=[])
    other.load_state_dict(saved)
    saved["param_groups"][0]["schedule"][0].append(4)
    assert other.param_groups[0]["schedule"] == [[1, 2]]


# ---- load_state_dict ---------------------------------------------------------------------------------------------
def adam_pair():
    p, q = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))
    opt = optim.Adam([p, q], lr=0.1)
    p.grad, q.grad = tc.Tensor(np.ones(2)), tc.Tensor(np.ones(3))
    opt.step()
    return opt, q


def test_load_state_dict_restores_groups_exactly_and_turns_listed_betas_into_a_tuple():
    opt, _ = adam_pair()
    saved = opt.state_dict()
    saved["param_groups"][0]["betas"] = [0.5, 0.6]  # as after a JSON round trip
    fresh = optim.Adam([nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))], lr=0.3)
    fresh.load_state_dict(saved)
    group = fresh.param_groups[0]
    assert group["betas"] == (0.5, 0.6) and isinstance(group["betas"], tuple)
    assert set(group) == set(opt.param_groups[0]) and group["lr"] == 0.1
    assert group["params"] == fresh.param_groups[0]["params"] and len(group["params"]) == 2


def test_load_state_dict_with_no_state_then_steps():
    opt, _ = adam_pair()
    fresh_p = nn.Parameter(np.ones(2))
    fresh = optim.Adam([fresh_p, nn.Parameter(np.ones(3))], lr=0.1)
    fresh.load_state_dict({"state": {}, "param_groups": opt.state_dict()["param_groups"]})
    fresh_p.grad = tc.Tensor(np.ones(2))
    fresh.step()
    assert fresh.state[fresh_p]["step"] == 1
    np.testing.assert_allclose(fresh_p.data, 1.0 - 0.1 / (1 + 1e-8), rtol=1e-12)


def test_load_state_dict_refuses_malformed_groups_and_keys():
    opt, q = adam_pair()
    saved = opt.state_dict()
    with pytest.raises(ValueError, match=r"^Adam\.load_state_dict: parameter group 0 is not a dict with 'params'"):
        opt.load_state_dict({"state": {}, "param_groups": [{"lr": 0.1}]})
    bad = {**saved, "param_groups": [{**saved["param_groups"][0], "foo": 1}]}
    with pytest.raises(ValueError, match=r"unknown hyperparameters \['foo'\] in group 0"):
        opt.load_state_dict(bad)
    for key in ("x", 2, -1, 1.0):
        with pytest.raises(ValueError, match=exactly(f"Adam.load_state_dict: state key {key!r} names no "
                                                     "parameter (0..1)")):
            opt.load_state_dict({**saved, "state": {key: saved["state"][1]}})
    opt.load_state_dict({**saved, "state": {"1": saved["state"][1]}})  # a digit string (JSON) names parameter 1
    assert set(opt.state) == {q}


def test_load_state_dict_checks_each_entry_by_kind():
    opt, q = adam_pair()
    saved = opt.state_dict()
    entry = saved["state"][1]

    def load(**changes):
        opt.load_state_dict({**saved, "state": {1: {**entry, **changes}}})

    with pytest.raises(ValueError, match=r"^Adam\.load_state_dict: state of parameter 1 is a list, not a dict"):
        opt.load_state_dict({**saved, "state": {1: [1]}})
    with pytest.raises(ValueError, match=r"^Adam\.load_state_dict: state of parameter 1 has \['bogus'"):
        load(bogus=1)
    with pytest.raises(ValueError, match=r"^Adam\.load_state_dict: state 'step' of parameter 1 \(a count\) must be"):
        load(step=-1)
    with pytest.raises(ValueError, match=r"^Adam\.load_state_dict: state 'exp_avg' of parameter 1 has shape list, "
                                         r"the parameter has shape \(3,\)"):
        load(exp_avg=[1.0, 1.0, 1.0])
    load(step=0)
    assert opt.state[q]["step"] == 0
    load(step=np.array(3))
    assert opt.state[q]["step"] == 3 and type(opt.state[q]["step"]) is int
    load(exp_avg=tc.Tensor(np.full(3, 0.25)))
    np.testing.assert_array_equal(opt.state[q]["exp_avg"], [0.25] * 3)
    source = np.full(3, 0.5)
    load(exp_avg_sq=source)
    source[:] = 7.0
    np.testing.assert_array_equal(opt.state[q]["exp_avg_sq"], [0.5] * 3)  # a copy, even of the same dtype


def test_load_state_dict_float_state_must_be_finite_and_becomes_a_float():
    p = nn.Parameter(np.ones(2))
    opt = optim.NAdam([p])
    p.grad = tc.Tensor(np.ones(2))
    opt.step()
    saved = opt.state_dict()
    entry = saved["state"][0]
    with pytest.raises(ValueError, match=r"^NAdam\.load_state_dict: state 'mu_product' of parameter 0 must be "
                                         r"finite, got nan"):
        opt.load_state_dict({**saved, "state": {0: {**entry, "mu_product": float("nan")}}})
    opt.load_state_dict({**saved, "state": {0: {**entry, "mu_product": np.array(0.5)}}})
    assert opt.state[p]["mu_product"] == 0.5 and type(opt.state[p]["mu_product"]) is float


# ---- learning-rate schedulers: every argument's check, in exact words ------------------------------------------
S = optim.lr_scheduler


def sgd(lr=0.1, groups=1, **kwargs):
    return optim.SGD([{"params": [nn.Parameter(np.zeros(1))]} for _ in range(groups)], lr=lr, **kwargs)


NAN = float("nan")
SCHEDULER_CHECKS = [
    (lambda o: S.StepLR(o, 0), "StepLR: step_size must be a positive int, got 0"),
    (lambda o: S.StepLR(o, 2, gamma=NAN), "StepLR: gamma must be finite, got nan"),
    (lambda o: S.StepLR(o, 2, gamma=-0.5), "StepLR: gamma must be >= 0.0, got -0.5"),
    (lambda o: S.StepLR(o, 2, last_epoch=-2), "StepLR: last_epoch must be >= -1, got -2"),
    (lambda o: S.MultiStepLR(o, [3, -1]), "MultiStepLR: milestones[1] must be >= 0, got -1"),
    (lambda o: S.MultiStepLR(o, [3], gamma=NAN), "MultiStepLR: gamma must be finite, got nan"),
    (lambda o: S.MultiStepLR(o, [3], gamma=-0.5), "MultiStepLR: gamma must be >= 0.0, got -0.5"),
    (lambda o: S.ConstantLR(o, factor=NAN), "ConstantLR: factor must be finite, got nan"),
    (lambda o: S.ConstantLR(o, total_iters=-1), "ConstantLR: total_iters must be >= 0, got -1"),
    (lambda o: S.LinearLR(o, start_factor=NAN), "LinearLR: start_factor must be finite, got nan"),
    (lambda o: S.LinearLR(o, end_factor=NAN), "LinearLR: end_factor must be finite, got nan"),
    (lambda o: S.LinearLR(o, total_iters=0), "LinearLR: total_iters must be a positive int, got 0"),
    (lambda o: S.ExponentialLR(o, gamma=NAN), "ExponentialLR: gamma must be finite, got nan"),
    (lambda o: S.PolynomialLR(o, total_iters=0), "PolynomialLR: total_iters must be a positive int, got 0"),
    (lambda o: S.PolynomialLR(o, power=NAN), "PolynomialLR: power must be finite, got nan"),
    (lambda o: S.PolynomialLR(o, power=-1.0), "PolynomialLR: power must be >= 0.0, got -1.0"),
    (lambda o: S.CosineAnnealingLR(o, T_max=0), "CosineAnnealingLR: T_max must be a positive int, got 0"),
    (lambda o: S.CosineAnnealingLR(o, 5, eta_min=NAN), "CosineAnnealingLR: eta_min must be finite, got nan"),
    (lambda o: S.CosineAnnealingLR(o, 5, eta_min=-1.0), "CosineAnnealingLR: eta_min must be >= 0.0, got -1.0"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=0),
     "CosineAnnealingWarmRestarts: T_0 must be a positive int, got 0"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, 2, T_mult=0),
     "CosineAnnealingWarmRestarts: T_mult must be a positive int, got 0"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, 2, eta_min=NAN),
     "CosineAnnealingWarmRestarts: eta_min must be finite, got nan"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, 2, last_epoch=-2),
     "CosineAnnealingWarmRestarts: last_epoch must be >= -1, got -2"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, 2).step(NAN),
     "CosineAnnealingWarmRestarts.step: epoch must be finite, got nan"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, 2).step(-1),
     "CosineAnnealingWarmRestarts.step: epoch must be >= 0.0, got -1.0"),
    (lambda o: S.OneCycleLR(o, 0.1, total_steps=0), "OneCycleLR: total_steps must be a positive int, got 0"),
    (lambda o: S.OneCycleLR(o, 0.1, epochs=0, steps_per_epoch=2), "OneCycleLR: epochs must be a positive int, got 0"),
    (lambda o: S.OneCycleLR(o, 0.1, epochs=2, steps_per_epoch=0),
     "OneCycleLR: steps_per_epoch must be a positive int, got 0"),
    (lambda o: S.OneCycleLR(o, 0.1, total_steps=5, pct_start=NAN), "OneCycleLR: pct_start must be finite, got nan"),
    (lambda o: S.OneCycleLR(o, 0.1, total_steps=5, pct_start=-0.1),
     "OneCycleLR: pct_start must be in [0.0, 1.0], got -0.1"),
    (lambda o: S.OneCycleLR(o, 0.1, total_steps=5, anneal_strategy="x"),
     "OneCycleLR: anneal_strategy must be 'cos' or 'linear', got 'x'"),
    (lambda o: S.OneCycleLR(o, 0.1, total_steps=5, div_factor=NAN), "OneCycleLR: div_factor must be finite, got nan"),
    (lambda o: S.OneCycleLR(o, 0.1, total_steps=5, div_factor=0.0), "OneCycleLR: div_factor must be > 0, got 0.0"),
    (lambda o: S.OneCycleLR(o, 0.1, total_steps=5, final_div_factor=NAN),
     "OneCycleLR: final_div_factor must be finite, got nan"),
    (lambda o: S.OneCycleLR(o, 0.1, total_steps=5, final_div_factor=-1.0),
     "OneCycleLR: final_div_factor must be > 0, got -1.0"),
    (lambda o: S.OneCycleLR(o, 0.1, total_steps=5, last_epoch=-2), "OneCycleLR: last_epoch must be >= -1, got -2"),
    (lambda o: S.OneCycleLR(o, NAN, total_steps=5), "OneCycleLR: max_lr must be finite, got nan"),
    (lambda o: S.OneCycleLR(o, -0.1, total_steps=5), "OneCycleLR: max_lr must be >= 0.0, got -0.1"),
    (lambda o: S.OneCycleLR(sgd(groups=2), [0.1, NAN], total_steps=5), "OneCycleLR: max_lr[1] must be finite, got nan"),
    (lambda o: S.OneCycleLR(o, 0.1, total_steps=5, max_momentum=NAN),
     "OneCycleLR: max_momentum must be finite, got nan"),
    (lambda o: S.OneCycleLR(o, 0.1, total_steps=5, max_momentum=-0.5),
     "OneCycleLR: max_momentum must be >= 0.0, got -0.5"),
    (lambda o: S.OneCycleLR(o, 0.1, total_steps=5, base_momentum=NAN),
     "OneCycleLR: base_momentum must be finite, got nan"),
    (lambda o: S.OneCycleLR(o, 0.1, total_steps=5, base_momentum=-0.5),
     "OneCycleLR: base_momentum must be >= 0.0, got -0.5"),
    (lambda o: S.ReduceLROnPlateau(o, factor=NAN), "ReduceLROnPlateau: factor must be finite, got nan"),
    (lambda o: S.ReduceLROnPlateau(o, factor=-0.5), "ReduceLROnPlateau: factor must be >= 0.0, got -0.5"),
    (lambda o: S.ReduceLROnPlateau(o, min_lr=NAN), "ReduceLROnPlateau: min_lr must be finite, got nan"),
    (lambda o: S.ReduceLROnPlateau(o, min_lr=-1.0), "ReduceLROnPlateau: min_lr must be >= 0.0, got -1.0"),
    (lambda o: S.ReduceLROnPlateau(o, min_lr=[NAN]), "ReduceLROnPlateau: min_lr[0] must be finite, got nan"),
    (lambda o: S.ReduceLROnPlateau(o, min_lr=[-1.0]), "ReduceLROnPlateau: min_lr[0] must be >= 0.0, got -1.0"),
    (lambda o: S.ReduceLROnPlateau(o, patience=-1), "ReduceLROnPlateau: patience must be >= 0, got -1"),
    (lambda o: S.ReduceLROnPlateau(o, cooldown=-1), "ReduceLROnPlateau: cooldown must be >= 0, got -1"),
    (lambda o: S.ReduceLROnPlateau(o, eps=NAN), "ReduceLROnPlateau: eps must be finite, got nan"),
    (lambda o: S.ReduceLROnPlateau(o, eps=-1.0), "ReduceLROnPlateau: eps must be >= 0.0, got -1.0"),
    (lambda o: S.ReduceLROnPlateau(o, threshold=NAN), "ReduceLROnPlateau: threshold must be finite, got nan"),
    (lambda o: S.ReduceLROnPlateau(o, threshold=-1.0), "ReduceLROnPlateau: threshold must be >= 0.0, got -1.0"),
    (lambda o: S.ReduceLROnPlateau(o, mode="x"), "ReduceLROnPlateau: mode must be 'min' or 'max', got 'x'"),
    (lambda o: S.ReduceLROnPlateau(o, threshold_mode="x"),
     "ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got 'x'"),
    (lambda o: S.SequentialLR(o, [S.StepLR(o, 2), S.StepLR(o, 3)], [-1]),
     "SequentialLR: milestones[0] must be >= 0, got -1"),
    (lambda o: S.SequentialLR(o, [S.StepLR(o, 2)], [], last_epoch=-2),
     "SequentialLR: last_epoch must be >= -1, got -2"),
]


@pytest.mark.parametrize("make, message", SCHEDULER_CHECKS)
def test_scheduler_argument_checks_in_exact_words(make, message):
    with pytest.raises(ValueError, match=exactly(message)):
        make(sgd(momentum=0.9))


@pytest.mark.parametrize("make", [
    lambda o: S.MultiStepLR(o, [0]), lambda o: S.ConstantLR(o, total_iters=0),
    lambda o: S.OneCycleLR(o, 0.1, total_steps=5, div_factor=1.0, final_div_factor=1.0),
    lambda o: S.OneCycleLR(o, 0.1, total_steps=5, pct_start=0.0), lambda o: S.ReduceLROnPlateau(o, eps=0.0),
    lambda o: S.ReduceLROnPlateau(o, patience=0, cooldown=0, threshold=0.0, factor=0.0),
])
def test_scheduler_arguments_at_the_edge_of_their_range_are_accepted(make):
    assert make(sgd(momentum=0.9)).get_last_lr()


@pytest.mark.parametrize("make", [
    lambda o, e: S.StepLR(o, 2, last_epoch=e), lambda o, e: S.MultiStepLR(o, [2], last_epoch=e),
    lambda o, e: S.ConstantLR(o, last_epoch=e), lambda o, e: S.LinearLR(o, last_epoch=e),
    lambda o, e: S.ExponentialLR(o, 0.5, last_epoch=e), lambda o, e: S.PolynomialLR(o, last_epoch=e),
    lambda o, e: S.CosineAnnealingLR(o, 4, last_epoch=e),
    lambda o, e: S.CosineAnnealingWarmRestarts(o, 2, last_epoch=e),
    lambda o, e: S.LambdaLR(o, lambda k: 1.0, last_epoch=e),
    lambda o, e: S.MultiplicativeLR(o, lambda k: 1.0, last_epoch=e),
    lambda o, e: S.OneCycleLR(o, 0.1, total_steps=10, last_epoch=e),
])
def test_resuming_at_last_epoch_continues_from_the_next_epoch(make):
    opt = sgd(momentum=0.9)
    for group in opt.param_groups:
        group.update(initial_lr=0.1, max_lr=0.1, min_lr=1e-5, max_momentum=0.95, base_momentum=0.85)
    assert make(opt, 3).last_epoch == 4


def test_scheduler_defaults_are_pytorchs():
    o = sgd(momentum=0.9)
    assert S.StepLR(o, 2).gamma == 0.1 and S.MultiStepLR(o, [2]).gamma == 0.1
    assert (S.ConstantLR(o).factor, S.ConstantLR(o).total_iters) == (1 / 3, 5)
    linear = S.LinearLR(o)
    assert (linear.start_factor, linear.end_factor, linear.total_iters) == (1 / 3, 1.0, 5)
    assert (S.PolynomialLR(o).total_iters, S.PolynomialLR(o).power) == (5, 1.0)
    assert S.CosineAnnealingLR(o, 3).eta_min == 0.0
    restarts = S.CosineAnnealingWarmRestarts(o, 3)
    assert (restarts.T_mult, restarts.eta_min) == (1, 0.0)
    plateau = S.ReduceLROnPlateau(o)
    assert (plateau.mode, plateau.factor, plateau.patience, plateau.threshold, plateau.threshold_mode,
            plateau.cooldown, plateau.min_lrs, plateau.eps) == ("min", 0.1, 10, 1e-4, "rel", 0, [0.0], 1e-8)
    state = plateau.state_dict()
    assert (state["cooldown_counter"], state["num_bad_epochs"], state["best"]) == (0, 0, math.inf)


CLOSED_FORMS = [
    lambda o: S.StepLR(o, 3, gamma=0.5), lambda o: S.MultiStepLR(o, [2, 2, 5], gamma=0.5),
    lambda o: S.ConstantLR(o, factor=0.5, total_iters=3), lambda o: S.LinearLR(o, 0.25, 0.75, total_iters=4),
    lambda o: S.ExponentialLR(o, 0.8), lambda o: S.PolynomialLR(o, total_iters=4, power=2.0),
    lambda o: S.CosineAnnealingLR(o, 5, eta_min=0.01),
]


@pytest.mark.parametrize("make", CLOSED_FORMS)
def test_closed_form_agrees_with_the_chained_steps_at_every_epoch(make):
    scheduler = make(sgd(0.2))
    for epoch in range(1, 9):
        scheduler.step()
        np.testing.assert_allclose(scheduler.closed_form_lr(), scheduler.get_last_lr(), rtol=1e-12, atol=1e-15,
                                   err_msg=f"epoch {epoch}")


def test_closed_forms_by_hand():
    def at(make, epoch):
        scheduler = make(sgd(0.2))
        scheduler.last_epoch = epoch
        return scheduler.closed_form_lr()[0]

    assert at(CLOSED_FORMS[0], 7) == pytest.approx(0.2 * 0.5**2)          # floor(7 / 3) = 2 decays
    assert at(CLOSED_FORMS[1], 4) == pytest.approx(0.2 * 0.5**2)          # milestones 2, 2 passed
    assert at(CLOSED_FORMS[2], 2) == pytest.approx(0.1) and at(CLOSED_FORMS[2], 3) == pytest.approx(0.2)
    assert at(CLOSED_FORMS[3], 2) == pytest.approx(0.2 * 0.5) and at(CLOSED_FORMS[3], 9) == pytest.approx(0.15)
    assert at(CLOSED_FORMS[5], 1) == pytest.approx(0.2 * 0.75**2) and at(CLOSED_FORMS[5], 6) == 0.0
    assert at(CLOSED_FORMS[6], 2) == pytest.approx(0.01 + 0.19 * (1 + math.cos(math.pi * 2 / 5)) / 2)


def test_power_past_the_float_range_is_inf_or_zero():
    from tinygrad_cnn.optim.lr_scheduler import _power
    assert _power(0.5, 10.0, 400) == math.inf and _power(0.0, 10.0, 400) == 0.0
    assert _power(0.5, 0.5, 3) == 0.0625
    scheduler = S.ExponentialLR(sgd(0.5), 10.0)
    scheduler.last_epoch = 400
    assert scheduler.closed_form_lr() == [math.inf]


def test_step_counts_and_flags_in_the_state_dict():
    for scheduler in (S.StepLR(sgd(), 2), S.CosineAnnealingWarmRestarts(sgd(), 2)):
        assert scheduler.state_dict()["_step_count"] == 1 and scheduler.state_dict()["_is_initial"] is False
        for _ in range(3):
            scheduler.step()
        assert scheduler.state_dict()["_step_count"] == 4


def test_cosine_resumed_takes_the_recursive_step_after_the_constructor():
    opt = sgd(0.1)
    opt.param_groups[0]["initial_lr"] = 0.1
    scheduler = S.CosineAnnealingLR(opt, T_max=10, last_epoch=3)
    assert scheduler.get_last_lr() == [0.1]
    scheduler.step()  # PyTorch: 0.1 * (1 + cos(pi/2)) / (1 + cos(2 pi/5)), from the current rate
    assert scheduler.get_last_lr()[0] == pytest.approx(0.1 / (1 + math.cos(math.pi * 0.4)), rel=1e-12)


def test_sequential_switches_to_a_scheduler_without_a_closed_form():
    opt = sgd(1.0)
    scheduler = S.SequentialLR(opt, [S.ConstantLR(opt, factor=0.5, total_iters=10), S.LambdaLR(opt, lambda e: 0.1)],
                               milestones=[1])
    assert scheduler.get_last_lr() == [0.5]  # the first scheduler starts: a milestone at 1 is not yet passed
    scheduler.step()
    assert scheduler.get_last_lr() == [pytest.approx(0.1)]


def test_sequential_and_lambda_state_dicts_are_checked_and_optional_parts_default():
    opt = sgd(1.0)
    scheduler = S.SequentialLR(opt, [S.StepLR(opt, 2), S.StepLR(opt, 3)], milestones=[2])
    for bad in ({}, {"_schedulers": [{}]}):
        with pytest.raises(ValueError, match=r"^SequentialLR\.load_state_dict: expected the states of 2 schedulers"):
            scheduler.load_state_dict(bad)
    lam = S.LambdaLR(sgd(1.0), lambda e: 0.5)
    state = lam.state_dict()
    del state["lr_lambdas"]
    lam.load_state_dict(state)  # a state without the lambdas' attributes leaves them as they are
    assert lam.get_last_lr() == [0.5]


def test_schedulers_name_themselves_when_given_no_optimizer():
    for make, name in ((lambda: S.LambdaLR("x", lambda e: 1.0), "LambdaLR"),
                       (lambda: S.SequentialLR("x", [], []), "SequentialLR"),
                       (lambda: S.ChainedScheduler([S.StepLR(sgd(), 2)], optimizer="x"), "ChainedScheduler")):
        with pytest.raises(TypeError, match=f"^{name}: expected an Optimizer, got str"):
            make()
    opt, other = sgd(), sgd()
    with pytest.raises(ValueError, match="ChainedScheduler expects all schedulers to belong to the same optimizer"):
        S.ChainedScheduler([S.StepLR(opt, 2)], optimizer=other)
    chained = S.ChainedScheduler([S.StepLR(opt, 1, gamma=0.5)])
    chained.step()
    assert chained.optimizer is opt and chained.get_last_lr() == [0.05]


def test_one_cycle_flags_and_the_groups_it_writes():
    with pytest.raises(ValueError, match=r"^OneCycleLR: You must define either total_steps OR"):
        S.OneCycleLR(sgd(), 0.1, epochs=2)
    for key in ("three_phase", "cycle_momentum"):
        with pytest.raises(TypeError, match=exactly(f"OneCycleLR: {key} must be True or False, got 'yes' (str)")):
            S.OneCycleLR(sgd(momentum=0.9), 0.1, total_steps=5, **{key: "yes"})
    adam = optim.Adam([nn.Parameter(np.zeros(1))])
    S.OneCycleLR(adam, 0.1, total_steps=5)
    assert set(adam.param_groups[0]) == {"params", "lr", "betas", "eps", "weight_decay", "amsgrad", "maximize",
                                         "decoupled_weight_decay", "initial_lr", "max_lr", "min_lr",
                                         "max_momentum", "base_momentum"}
    assert adam.param_groups[0]["betas"] == (0.95, 0.999)


def test_constant_and_linear_factor_bounds():
    for factor in (0.0, 1.0):
        assert S.ConstantLR(sgd(), factor=factor).factor == factor
    with pytest.raises(ValueError, match="Starting multiplicative factor expected to be greater than 0"):
        S.LinearLR(sgd(), start_factor=1.5)


def test_plateau_thresholds_at_their_edges():
    def better(mode, threshold_mode, a, best=8.0):
        return S.ReduceLROnPlateau(sgd(), mode=mode, threshold=0.5, threshold_mode=threshold_mode).is_better(a, best)

    # min, rel: below 8 * 0.5 = 4; min, abs: below 7.5; max, rel: above 12; max, abs: above 8.5
    assert not better("min", "rel", 4.0) and better("min", "rel", 3.9) and not better("min", "rel", 5.0)
    assert not better("min", "abs", 7.5) and better("min", "abs", 5.0)
    assert not better("max", "rel", 12.0) and better("max", "rel", 12.5) and not better("max", "rel", 10.0)
    assert not better("max", "abs", 8.5) and better("max", "abs", 10.0)


def test_plateau_skips_changes_no_larger_than_eps_and_follows_added_groups():
    opt = sgd(1.0)
    scheduler = S.ReduceLROnPlateau(opt, factor=0.5, patience=0, eps=0.5)
    scheduler.step(1.0)
    scheduler.step(2.0)  # a reduction from 1 to 0.5 changes the rate by exactly eps: not made
    assert opt.param_groups[0]["lr"] == 1.0
    opt = sgd(1.0)
    scheduler = S.ReduceLROnPlateau(opt, factor=0.5, patience=0, min_lr=0.3)
    opt.add_param_group({"params": [nn.Parameter(np.zeros(1))], "lr": 2.0})
    scheduler.step(1.0)
    scheduler.step(2.0)
    assert [g["lr"] for g in opt.param_groups] == [0.5, 1.0] and scheduler.min_lrs == [0.3, 0.3]
    opt = sgd(1.0)
    scheduler = S.ReduceLROnPlateau(opt, patience=0, min_lr=[0.0])
    opt.add_param_group({"params": [nn.Parameter(np.zeros(1))], "lr": 2.0})
    scheduler.step(1.0)
    with pytest.raises(RuntimeError, match="ReduceLROnPlateau: the optimizer has 2 param groups, 1 when"):
        scheduler.step(2.0)
