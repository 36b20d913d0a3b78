"""Learning-rate schedulers: closed-form and hand-computed sequences, state dicts and validation (torch-free), and
step by step against PyTorch when it is installed."""

import math

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import nn, optim
from tinygrad_cnn.optim import lr_scheduler as S
from tinygrad_cnn.serialization import load, save


def sgd(lr=0.1, groups=1, momentum=0.0):
    return optim.SGD([{"params": [nn.Parameter(np.zeros(1))], "lr": lr * (i + 1)} for i in range(groups)], lr=lr,
                     momentum=momentum)


def rates(scheduler, steps, group=0):
    out = [scheduler.get_last_lr()[group]]
    for _ in range(steps):
        scheduler.optimizer.step()
        scheduler.step()
        out.append(scheduler.get_last_lr()[group])
    return out


# ---- closed forms, without torch -------------------------------------------------------------------------------
def test_multistep_lr_with_a_repeated_milestone():
    got = rates(S.MultiStepLR(sgd(1.0), milestones=[2, 4, 4], gamma=0.5), 6)
    np.testing.assert_allclose(got, [1, 1, 0.5, 0.5, 0.125, 0.125, 0.125], rtol=1e-15)


def test_exponential_lr():
    np.testing.assert_allclose(rates(S.ExponentialLR(sgd(2.0), gamma=0.9), 5), [2 * 0.9**e for e in range(6)],
                               rtol=1e-14)


def test_linear_lr_warm_up():
    got = rates(S.LinearLR(sgd(0.3), start_factor=0.25, end_factor=1.0, total_iters=3), 5)
    expected = [0.3 * (0.25 + 0.75 * min(e, 3) / 3) for e in range(6)]
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    assert got[0] == pytest.approx(0.075) and got[3] == pytest.approx(0.3)


def test_constant_lr():
    np.testing.assert_allclose(rates(S.ConstantLR(sgd(0.3), factor=0.5, total_iters=2), 4),
                               [0.15, 0.15, 0.3, 0.3, 0.3], rtol=1e-15)


def test_polynomial_lr():
    got = rates(S.PolynomialLR(sgd(1.0), total_iters=4, power=2.0), 6)
    np.testing.assert_allclose(got, [1, 0.5625, 0.25, 0.0625, 0, 0, 0], rtol=1e-14, atol=1e-16)


def test_lambda_and_multiplicative_lr():
    np.testing.assert_allclose(rates(S.LambdaLR(sgd(0.5), lambda e: 1 / (e + 1)), 3), [0.5, 0.25, 0.5 / 3, 0.125],
                               rtol=1e-15)
    # multiplicative: each step multiplies the current rate by f(epoch), from epoch 1
    np.testing.assert_allclose(rates(S.MultiplicativeLR(sgd(1.0), lambda e: 0.5 + 0.1 * e), 3),
                               [1, 0.6, 0.6 * 0.7, 0.6 * 0.7 * 0.8], rtol=1e-15)
    scheduler = S.LambdaLR(sgd(1.0, groups=2), [lambda e: 1.0, lambda e: 0.1 * e])
    rates(scheduler, 2)
    assert scheduler.get_last_lr() == pytest.approx([1.0, 0.4])


def test_cosine_recursive_form_matches_the_closed_form_over_several_periods():
    scheduler = S.CosineAnnealingLR(sgd(0.1), T_max=4, eta_min=0.01)
    expected = [0.01 + 0.09 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(17)]
    np.testing.assert_allclose(rates(scheduler, 16), expected, rtol=1e-12)


def test_cosine_is_chainable():
    # the recursive form respects a rate changed by hand: halved at epoch 2, it anneals the halved rate
    opt = sgd(0.1)
    scheduler = S.CosineAnnealingLR(opt, T_max=4)
    rates(scheduler, 2)
    opt.param_groups[0]["lr"] /= 2
    scheduler.step()
    assert scheduler.get_last_lr()[0] == pytest.approx(0.05 / 2 * (1 + math.cos(3 * math.pi / 4))
                                                       / (1 + math.cos(2 * math.pi / 4)))


def test_warm_restarts():
    got = rates(S.CosineAnnealingWarmRestarts(sgd(1.0), T_0=2, T_mult=2, eta_min=0.0), 7)
    # periods of 2, then 4: T_cur = 0 1 | 0 1 2 3 | 0 1
    t_cur, t_i = [0, 1, 0, 1, 2, 3, 0, 1], [2, 2, 4, 4, 4, 4, 8, 8]
    np.testing.assert_allclose(got, [(1 + math.cos(math.pi * c / i)) / 2 for c, i in zip(t_cur, t_i)], atol=1e-15)
    scheduler = S.CosineAnnealingWarmRestarts(sgd(1.0), T_0=4)
    scheduler.step(5.5)  # fractional epochs: 5.5 is 1.5 into the second period
    assert scheduler.get_last_lr()[0] == pytest.approx((1 + math.cos(math.pi * 1.5 / 4)) / 2)
    assert scheduler.last_epoch == 5


def one_cycle_expected(total, max_lr, pct, div, final_div, three_phase, strategy, step):
    def anneal(a, b, x):
        return b + (a - b) / 2 * (math.cos(math.pi * x) + 1) if strategy == "cos" else a + (b - a) * x
    initial = max_lr / div
    low = initial / final_div
    ends = ([pct * total - 1, 2 * pct * total - 2, total - 1] if three_phase else [pct * total - 1, total - 1])
    points = [(initial, max_lr), (max_lr, initial), (initial, low)] if three_phase else [(initial, max_lr),
                                                                                         (max_lr, low)]
    start = 0.0
    for i, (end, (a, b)) in enumerate(zip(ends, points)):
        if step <= end or i == len(ends) - 1:
            return anneal(a, b, (step - start) / (end - start))
        start = end


@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_one_cycle_by_formula(three_phase, strategy):
    opt = sgd(0.1, momentum=0.9)
    scheduler = S.OneCycleLR(opt, max_lr=1.0, total_steps=20, pct_start=0.25, div_factor=10,
                             final_div_factor=100, three_phase=three_phase, anneal_strategy=strategy)
    got = rates(scheduler, 19)
    expected = [one_cycle_expected(20, 1.0, 0.25, 10, 100, three_phase, strategy, s) for s in range(20)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert got[0] == pytest.approx(0.1) and got[4] == pytest.approx(1.0) and got[-1] == pytest.approx(1e-3)
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.95)  # back at max_momentum at the end
    scheduler.step()  # step 20 extrapolates past the end (as PyTorch's), step 21 is refused
    with pytest.raises(ValueError, match=r"Tried to step 21 times\. The specified number of total steps is 20"):
        scheduler.step()


def test_one_cycle_moves_beta1_of_adam_and_momentum_of_sgd_oppositely():
    opt = optim.Adam([nn.Parameter(np.zeros(1))], betas=(0.9, 0.99))
    scheduler = S.OneCycleLR(opt, max_lr=0.01, epochs=2, steps_per_epoch=5, pct_start=0.5, anneal_strategy="linear")
    betas = [opt.param_groups[0]["betas"]]
    for _ in range(4):
        scheduler.step()
        betas.append(opt.param_groups[0]["betas"])
    np.testing.assert_allclose([b[0] for b in betas], [0.95, 0.925, 0.9, 0.875, 0.85], rtol=1e-12)
    assert all(b[1] == 0.99 for b in betas)
    assert scheduler.get_last_lr()[0] == pytest.approx(0.01)


def test_reduce_on_plateau_patience_cooldown_min_lr():
    opt = sgd(1.0)
    scheduler = S.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1, min_lr=0.2)
    history = []
    for metric in [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]:
        scheduler.step(metric)
        history.append(scheduler.get_last_lr()[0])
    # two bad epochs (> patience 1) halve; the cooldown epoch resets the count; the floor is min_lr
    assert history == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2]


@pytest.mark.parametrize("mode, threshold_mode, metrics, expected", [
    ("min", "rel", [1.0, 0.99995, 0.9], [1.0, 1.0, 1.0]),  # a relative gain < 1e-4 is not an improvement...
    ("min", "abs", [1.0, 0.95, 0.85], [1.0, 0.1, 0.1]),  # ...nor an absolute one < 0.1 (patience 0)
    ("max", "rel", [1.0, 2.0, 1.5], [1.0, 1.0, 0.1]),
    ("max", "abs", [1.0, 1.05, 2.0], [1.0, 0.1, 0.1]),
])
def test_reduce_on_plateau_modes(mode, threshold_mode, metrics, expected):
    threshold = 1e-4 if threshold_mode == "rel" else 0.1
    scheduler = S.ReduceLROnPlateau(sgd(1.0), mode=mode, threshold_mode=threshold_mode, threshold=threshold,
                                    patience=0 if threshold_mode == "abs" or mode == "max" else 1)
    got = []
    for m in metrics:
        scheduler.step(tg.Tensor(np.array(m)) if m == 0.9 else m)  # a 0-d tensor works too
        got.append(scheduler.get_last_lr()[0])
    np.testing.assert_allclose(got, expected, rtol=1e-15)


def test_sequential_warm_up_then_cosine():
    opt = sgd(1.0)
    warm = S.LinearLR(opt, start_factor=0.5, total_iters=2)
    cosine = S.CosineAnnealingLR(opt, T_max=4)
    scheduler = S.SequentialLR(opt, [warm, cosine], milestones=[2])
    got = rates(scheduler, 6)
    np.testing.assert_allclose(got, [0.5, 0.75, 1.0, (1 + math.cos(math.pi / 4)) / 2, 0.5,
                                     (1 + math.cos(3 * math.pi / 4)) / 2, 0.0], atol=1e-15)


def test_chained_schedulers_multiply():
    opt = sgd(1.0)
    scheduler = S.ChainedScheduler([S.ConstantLR(opt, factor=0.5, total_iters=2), S.ExponentialLR(opt, gamma=0.9)])
    np.testing.assert_allclose(rates(scheduler, 3), [0.5, 0.45, 0.81, 0.729], rtol=1e-14)


# ---- state dicts -----------------------------------------------------------------------------------------------
MAKERS = {
    "StepLR": lambda o: S.StepLR(o, 3, gamma=0.5),
    "MultiStepLR": lambda o: S.MultiStepLR(o, [2, 5, 5], gamma=0.5),
    "ConstantLR": lambda o: S.ConstantLR(o, 0.5, total_iters=3),
    "LinearLR": lambda o: S.LinearLR(o, 0.2, 0.9, total_iters=5),
    "ExponentialLR": lambda o: S.ExponentialLR(o, 0.8),
    "PolynomialLR": lambda o: S.PolynomialLR(o, total_iters=6, power=1.5),
    "CosineAnnealingLR": lambda o: S.CosineAnnealingLR(o, 5, eta_min=0.01),
    "CosineAnnealingWarmRestarts": lambda o: S.CosineAnnealingWarmRestarts(o, 3, T_mult=2, eta_min=0.001),
    "OneCycleLR": lambda o: S.OneCycleLR(o, max_lr=[0.5, 1.0], total_steps=12, three_phase=True),
    "LambdaLR": lambda o: S.LambdaLR(o, lambda e: 0.9**e),
    "MultiplicativeLR": lambda o: S.MultiplicativeLR(o, lambda e: 0.9),
    "SequentialLR": lambda o: S.SequentialLR(o, [S.ConstantLR(o, 0.1, total_iters=2), S.ExponentialLR(o, 0.9)], [3]),
}


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_state_dict_round_trip_through_a_checkpoint(name, tmp_path):
    opt = sgd(0.1, groups=2, momentum=0.9)
    scheduler = MAKERS[name](opt)
    rates(scheduler, 4)
    save({"optimizer": opt.state_dict(), "scheduler": scheduler.state_dict()}, tmp_path / "s.npz")
    later = rates(scheduler, 6)
    state = load(tmp_path / "s.npz")
    opt2 = sgd(0.1, groups=2, momentum=0.9)
    scheduler2 = MAKERS[name](opt2)
    opt2.load_state_dict(state["optimizer"])
    scheduler2.load_state_dict(state["scheduler"])
    assert rates(scheduler2, 6) == later
    assert "optimizer" not in scheduler.state_dict()


def test_lambda_state_dict_leaves_functions_out_and_keeps_callable_objects_state():
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, epoch):
            return self.rate**epoch

    opt = sgd(1.0, groups=2)
    decay = Decay()
    scheduler = S.LambdaLR(opt, [lambda e: 1.0, decay])
    decay.rate = 0.25
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [None, {"rate": 0.25}]
    other = Decay()
    fresh = S.LambdaLR(sgd(1.0, groups=2), [lambda e: 1.0, other])
    fresh.load_state_dict(state)
    assert other.rate == 0.25


def test_reduce_on_plateau_state_round_trip():
    scheduler = S.ReduceLROnPlateau(sgd(1.0), patience=0)
    for m in [1.0, 2.0]:
        scheduler.step(m)
    fresh = S.ReduceLROnPlateau(sgd(1.0), patience=0)
    fresh.load_state_dict(scheduler.state_dict())
    assert (fresh.best, fresh.num_bad_epochs, fresh.last_epoch) == (1.0, 0, 2)
    with pytest.raises(ValueError, match="unknown keys"):
        fresh.load_state_dict({"bogus": 1})


# ---- validation ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, error, match", [
    (lambda o: S.ExponentialLR("opt", 0.9), TypeError, "ExponentialLR: expected an Optimizer, got str"),
    (lambda o: S.OneCycleLR(None, 0.1, total_steps=3), TypeError, "OneCycleLR: expected an Optimizer"),
    (lambda o: S.ReduceLROnPlateau([1, 2]), TypeError, "ReduceLROnPlateau: expected an Optimizer"),
    (lambda o: S.MultiStepLR(o, [2, 1.5]), TypeError, r"MultiStepLR: milestones\[1\] must be an int"),
    (lambda o: S.MultiStepLR(o, 3), TypeError, "MultiStepLR: milestones must be an iterable"),
    (lambda o: S.ConstantLR(o, factor=1.5), ValueError, "Constant multiplicative factor expected to be between 0"),
    (lambda o: S.LinearLR(o, start_factor=0), ValueError, "Starting multiplicative factor expected to be greater"),
    (lambda o: S.LinearLR(o, end_factor=2), ValueError, "Ending multiplicative factor expected to be between 0"),
    (lambda o: S.LinearLR(o, total_iters=0), ValueError, "LinearLR: total_iters must be a positive int"),
    (lambda o: S.ExponentialLR(o, gamma=-0.5), ValueError, r"ExponentialLR: gamma must be >= 0\.0"),
    (lambda o: S.PolynomialLR(o, power="2"), TypeError, "PolynomialLR: power must be a real number"),
    (lambda o: S.LambdaLR(o, 0.5), TypeError, "LambdaLR: lr_lambda should be a function"),
    (lambda o: S.LambdaLR(o, [lambda e: 1, lambda e: 2]), ValueError, "LambdaLR: expected 1 lr_lambdas"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "T_0 must be a positive int"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), ValueError, "T_mult must be a positive int"),
    (lambda o: S.OneCycleLR(o, 0.1), ValueError, r"You must define either total_steps OR \(epochs AND"),
    (lambda o: S.OneCycleLR(o, 0.1, total_steps=0), ValueError, "total_steps must be a positive int"),
    (lambda o: S.OneCycleLR(o, 0.1, total_steps=5, pct_start=1.5), ValueError, r"pct_start must be in \[0\.0"),
    (lambda o: S.OneCycleLR(o, 0.1, total_steps=5, anneal_strategy="cosine"), ValueError, "'cos' or 'linear'"),
    (lambda o: S.OneCycleLR(o, [0.1, 0.2], total_steps=5), ValueError, "expected 1 values for max_lr"),
    (lambda o: S.OneCycleLR(optim.Adagrad([nn.Parameter(np.zeros(1))]), 0.1, total_steps=5), ValueError,
     "must support momentum or beta1"),
    (lambda o: S.ReduceLROnPlateau(o, factor=1.0), ValueError, "Factor should be < 1.0"),
    (lambda o: S.ReduceLROnPlateau(o, mode="mean"), ValueError, "ReduceLROnPlateau: mode must be 'min' or 'max'"),
    (lambda o: S.ReduceLROnPlateau(o, threshold_mode="x"), ValueError, "threshold_mode must be 'rel' or 'abs'"),
    (lambda o: S.ReduceLROnPlateau(o, patience=-1), ValueError, "patience must be >= 0"),
    (lambda o: S.ReduceLROnPlateau(o, min_lr=[0.1, 0.2]), ValueError, "expected 1 values for min_lr"),
    (lambda o: S.SequentialLR(o, [], []), ValueError, "expects at least one scheduler"),
    (lambda o: S.SequentialLR(o, [S.StepLR(o, 2), S.StepLR(o, 3)], []), ValueError, "one more than the number"),
    (lambda o: S.SequentialLR(o, [S.StepLR(sgd(), 2)], []), ValueError, "belong to the same optimizer"),
    (lambda o: S.SequentialLR(o, [S.ReduceLROnPlateau(o)], []), ValueError, "does not support `ReduceLROnPlateau`"),
    (lambda o: S.StepLR(o, 2, last_epoch=3), ValueError, r"needs 'initial_lr' in every param group"),
])
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make(sgd(0.1))


def test_reduce_on_plateau_refuses_a_metric_that_is_no_number():
    with pytest.raises(TypeError, match=r"ReduceLROnPlateau\.step: metrics must be a number"):
        S.ReduceLROnPlateau(sgd()).step("low")


def test_one_cycle_step_past_the_end_and_zero_length_phase():
    # pct_start * total_steps == 1: the rise is done at step 0, so the cycle starts at max_lr
    scheduler = S.OneCycleLR(sgd(), max_lr=1.0, total_steps=10, pct_start=0.1, cycle_momentum=False)
    assert scheduler.get_last_lr()[0] == 1.0


# ---- against PyTorch ------------------------------------------------------------------------------------------------
TORCH_CASES = {
    "StepLR": lambda m, o: m.StepLR(o, 3, gamma=0.3),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, [2, 5, 5, 9], gamma=0.5),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=4),
    "ConstantLR-default": lambda m, o: m.ConstantLR(o),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.1, end_factor=0.7, total_iters=6),
    "LinearLR-down": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=7),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.85),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=8, power=0.7),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, 5, eta_min=0.001),
    "CosineAnnealingLR-T1": lambda m, o: m.CosineAnnealingLR(o, 1),
    "WarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.01),
    "WarmRestarts-1": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=4),
    "LambdaLR": lambda m, o: m.LambdaLR(o, [lambda e: 0.95**e, lambda e: 1 / (1 + e)]),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lambda e: 0.9 if e % 2 else 1.02),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 0.8], total_steps=25),
    "OneCycleLR-linear-3": lambda m, o: m.OneCycleLR(o, max_lr=1.0, epochs=5, steps_per_epoch=5, pct_start=0.4,
                                                     anneal_strategy="linear", three_phase=True, div_factor=5,
                                                     final_div_factor=50, base_momentum=0.7, max_momentum=0.9),
    "OneCycleLR-cos-3": lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=25, three_phase=True,
                                                  cycle_momentum=False),
    "SequentialLR": lambda m, o: m.SequentialLR(o, [m.LinearLR(o, 0.1, total_iters=3), m.ExponentialLR(o, 0.9),
                                                    m.CosineAnnealingLR(o, 6)], milestones=[3, 10]),
    "SequentialLR-step": lambda m, o: m.SequentialLR(o, [m.ConstantLR(o, 0.5, total_iters=2), m.StepLR(o, 2)],
                                                     milestones=[4]),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler([m.LinearLR(o, 0.5, total_iters=4),
                                                         m.ExponentialLR(o, 0.9)]),
}


def _torch_and_ours(torch, opt_name):
    kwargs = {"lr": 0.2, "momentum": 0.9} if opt_name == "SGD" else {"lr": 0.2}
    theirs = getattr(torch.optim, opt_name)([{"params": [torch.zeros(1, requires_grad=True)]},
                                             {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.05}], **kwargs)
    ours = getattr(optim, opt_name)([{"params": [nn.Parameter(np.zeros(1))]},
                                     {"params": [nn.Parameter(np.zeros(1))], "lr": 0.05}], **kwargs)
    return theirs, ours


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
@pytest.mark.parametrize("case", sorted(TORCH_CASES))
def test_matches_pytorch_step_by_step(case, opt_name):
    torch = pytest.importorskip("torch")
    theirs_opt, ours_opt = _torch_and_ours(torch, opt_name)
    theirs = TORCH_CASES[case](torch.optim.lr_scheduler, theirs_opt)
    ours = TORCH_CASES[case](S, ours_opt)
    steps = 24 if case.startswith("OneCycle") else 20
    for step in range(steps + 1):
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12, atol=1e-15,
                                   err_msg=f"{case} step {step}")
        np.testing.assert_allclose([g["lr"] for g in ours_opt.param_groups],
                                   [g["lr"] for g in theirs_opt.param_groups], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(_momenta(ours_opt), _momenta(theirs_opt), rtol=1e-12)
        if step < steps:
            theirs_opt.step()
            ours_opt.step()
            theirs.step()
            ours.step()


def test_reduce_on_plateau_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(1, 0.5, 5), 0.5 + 0.01 * rng.random(30), np.linspace(0.5, 0.2, 5)])
    for kwargs in [{}, {"patience": 2, "factor": 0.5, "cooldown": 2, "min_lr": [0.01, 0.02]},
                   {"mode": "max", "threshold_mode": "abs", "threshold": 0.001, "patience": 1},
                   {"patience": 0, "eps": 0.01, "threshold": 0.0}]:
        theirs_opt, ours_opt = _torch_and_ours(torch, "SGD")
        theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt, **kwargs)
        ours = S.ReduceLROnPlateau(ours_opt, **kwargs)
        for m in metrics:
            theirs.step(float(m))
            ours.step(float(m))
            assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-14), kwargs
            assert (ours.num_bad_epochs, ours.cooldown_counter, ours.best) == (
                theirs.num_bad_epochs, theirs.cooldown_counter, theirs.best)


def test_warm_restarts_fractional_epochs_match_pytorch():
    torch = pytest.importorskip("torch")
    theirs_opt, ours_opt = _torch_and_ours(torch, "SGD")
    theirs = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(theirs_opt, T_0=2, T_mult=3)
    ours = S.CosineAnnealingWarmRestarts(ours_opt, T_0=2, T_mult=3)
    for epoch in np.arange(0, 12, 0.25):
        theirs.step(float(epoch))
        ours.step(float(epoch))
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12)
