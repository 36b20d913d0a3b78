"""Learning-rate schedules with PyTorch's names, arguments and step-by-step values.

Usage as in PyTorch: build the scheduler after the optimiser (this sets the step-0 learning rate), call
``optimizer.step()`` for each batch and ``scheduler.step()`` once per epoch (or per batch, for schedules counted
in batches such as OneCycleLR). ``ReduceLROnPlateau.step(metric)`` takes the monitored value.

Most schedules are *chainable*, as PyTorch's: ``step`` computes the new rate from the group's current ``lr``
(``lr * gamma`` for ExponentialLR), so two schedulers on one optimiser compose and a rate changed by hand is
respected. Their closed forms (``closed_form_lr``) are used where PyTorch uses them (SequentialLR's milestones).
"""

from __future__ import annotations

import math
import types
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .._checks import as_bool, as_choice, as_int, as_real
from .optimizer import Optimizer


def _check_optimizer(name: str, optimizer: Any) -> Optimizer:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{name}: expected an Optimizer, got {type(optimizer).__name__}; build the optimiser first "
                        "and pass it as the first argument, e.g. StepLR(optimizer, step_size=10)")
    return optimizer


def _per_group(name: str, key: str, optimizer: Optimizer, value: Any, **limits: Any) -> list[float]:
    """A number for every param group: one number for all, or a list/tuple with one per group."""
    groups = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != groups:
            raise ValueError(f"{name}: expected {groups} values for {key} (one per param group), got {len(value)}")
        return [as_real(name, f"{key}[{i}]", v, finite=True, **limits) for i, v in enumerate(value)]
    return [as_real(name, key, value, finite=True, **limits)] * groups


class LRScheduler:
    """Base class: keeps ``base_lrs`` (each group's ``initial_lr``), ``last_epoch`` and the rates of the last step.

    A subclass defines ``get_lr()``: the rates for ``last_epoch`` (already advanced), usually from the groups'
    current ``lr`` (chainable); optionally ``closed_form_lr()``, the same rates from ``base_lrs`` alone.
    During the first step, made by the constructor, ``self._is_initial`` is True.
    """

    _is_initial = False

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        name = type(self).__name__
        _check_optimizer(name, optimizer)
        last_epoch = as_int(name, "last_epoch", last_epoch, low=-1)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            missing = [i for i, group in enumerate(optimizer.param_groups) if "initial_lr" not in group]
            if missing:
                raise ValueError(f"{name}: resuming with last_epoch={last_epoch} needs 'initial_lr' in every param "
                                 f"group (missing in param_groups{missing}); load the optimiser's state dict first, "
                                 "or start with last_epoch=-1")
        self.optimizer = optimizer
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The rate of each group at ``last_epoch`` (called by ``step``; read rates with ``get_last_lr``)."""
        raise NotImplementedError(f"{type(self).__name__} defines no get_lr")

    def step(self) -> None:
        """Advance one step (an epoch, or a batch for per-batch schedules) and write the new rates into the
        optimiser's groups. Call it after ``optimizer.step()``."""
        self._step_count += 1
        self._update_lr(None)

    def _update_lr(self, epoch: int | None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:  # jump to an epoch: the closed form where there is one (SequentialLR's milestones use this)
            self.last_epoch = epoch
            closed = getattr(self, "closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step`` set, one per group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimiser (save that one's own state dict)."""
        return {k: _copy(v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore ``state_dict()``; the optimiser's learning rates are restored by its own ``load_state_dict``."""
        unknown = set(state_dict) - set(self.__dict__)
        if unknown:
            raise ValueError(f"{type(self).__name__}.load_state_dict: unknown keys {sorted(unknown)}; was the "
                             "state saved from another kind of scheduler?")
        self.__dict__.update({k: _copy(v) for k, v in state_dict.items()})


def _copy(value: Any) -> Any:
    if isinstance(value, Counter):
        return Counter(value)
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy(v) for v in value]
    return value


# ---- schedules given by a function ----------------------------------------------------------------------
class _LambdaBase(LRScheduler):
    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        name = type(self).__name__
        _check_optimizer(name, optimizer)
        groups = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != groups:
                raise ValueError(f"{name}: expected {groups} lr_lambdas (one per param group), got {len(lr_lambda)}")
            lambdas = list(lr_lambda)
        else:
            lambdas = [lr_lambda] * groups
        for fn in lambdas:
            if not callable(fn):
                raise TypeError(f"{name}: lr_lambda should be a function of the epoch, got {type(fn).__name__}")
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> dict[str, Any]:
        """As the base, but functions are not saved (``None``); a callable object's ``__dict__`` is."""
        state = {k: _copy(v) for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(fn.__dict__)
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        saved = state.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        super().load_state_dict(state)
        for fn, attrs in zip(self.lr_lambdas, saved):
            if attrs is not None:
                fn.__dict__.update(attrs)


class LambdaLR(_LambdaBase):
    r"""$\eta_e = \eta_0 \cdot \lambda(e)$: the base rate times ``lr_lambda(epoch)`` (one function, or one per
    group)."""

    def get_lr(self) -> list[float]:
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaBase):
    r"""$\eta_e = \eta_{e-1} \cdot \lambda(e)$ for $e \ge 1$: the current rate times ``lr_lambda(epoch)``."""

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * fn(self.last_epoch) for fn, group in zip(self.lr_lambdas, self.optimizer.param_groups)]


# ---- decays --------------------------------------------------------------------------------------------------
def _power(base: float, gamma: float, n: int) -> float:
    try:
        return base * gamma**n
    except OverflowError:  # gamma > 1 for many epochs: past the float range, inf as the recursive form becomes
        return math.inf if base else 0.0


class StepLR(LRScheduler):
    r"""$\eta_e = \eta_0 \, \gamma^{\lfloor e / \text{step\_size} \rfloor}$: multiply by ``gamma`` every
    ``step_size`` epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.step_size = as_int("StepLR", "step_size", step_size, low=1)
        self.gamma = as_real("StepLR", "gamma", gamma, finite=True, low=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def closed_form_lr(self) -> list[float]:
        return [_power(base, self.gamma, self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    r"""$\eta_e = \eta_0 \, \gamma^{\#\{m \in \text{milestones} : m \le e\}}$: multiply by ``gamma`` at each
    milestone epoch (a milestone listed twice multiplies twice)."""

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        try:
            items = list(milestones)
        except TypeError:
            raise TypeError(f"MultiStepLR: milestones must be an iterable of ints, got "
                            f"{type(milestones).__name__}") from None
        self.milestones = Counter(as_int("MultiStepLR", f"milestones[{i}]", m, low=0) for i, m in enumerate(items))
        self.gamma = as_real("MultiStepLR", "gamma", gamma, finite=True, low=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        count = self.milestones.get(self.last_epoch, 0)
        if count == 0:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma**count for group in self.optimizer.param_groups]

    def closed_form_lr(self) -> list[float]:
        passed = bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return [_power(base, self.gamma, passed) for base in self.base_lrs]

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self.milestones = Counter({int(k): int(v) for k, v in dict(self.milestones).items()})


class ConstantLR(LRScheduler):
    r"""$\eta_e = \eta_0 \cdot \text{factor}$ for $e < $ ``total_iters``, then $\eta_0$."""

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        factor = as_real("ConstantLR", "factor", factor, finite=True)
        if not 0 <= factor <= 1:
            raise ValueError(f"ConstantLR: Constant multiplicative factor expected to be between 0 and 1, got {factor}")
        self.factor = factor
        self.total_iters = as_int("ConstantLR", "total_iters", total_iters, low=0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * (1.0 / self.factor) for group in self.optimizer.param_groups]

    def closed_form_lr(self) -> list[float]:
        factor = 1.0 if self.last_epoch >= self.total_iters else self.factor
        return [base * factor for base in self.base_lrs]


class LinearLR(LRScheduler):
    r"""$\eta_e = \eta_0 \, (s + (f - s) \min(e, T) / T)$: the factor moves linearly from ``start_factor`` $s$ to
    ``end_factor`` $f$ over ``total_iters`` $T$ epochs (a warm-up with the defaults)."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        start = as_real("LinearLR", "start_factor", start_factor, finite=True)
        end = as_real("LinearLR", "end_factor", end_factor, finite=True)
        if not 0 < start <= 1:
            raise ValueError("LinearLR: Starting multiplicative factor expected to be greater than 0 and less or "
                             f"equal to 1, got start_factor={start}")
        if not 0 <= end <= 1:
            raise ValueError(f"LinearLR: Ending multiplicative factor expected to be between 0 and 1, got "
                             f"end_factor={end}")
        self.start_factor, self.end_factor = start, end
        self.total_iters = as_int("LinearLR", "total_iters", total_iters, low=1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return [group["lr"] for group in self.optimizer.param_groups]
        delta = self.end_factor - self.start_factor
        ratio = 1.0 + delta / (self.total_iters * self.start_factor + (self.last_epoch - 1) * delta)
        return [group["lr"] * ratio for group in self.optimizer.param_groups]

    def closed_form_lr(self) -> list[float]:
        fraction = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * (self.start_factor + (self.end_factor - self.start_factor) * fraction)
                for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    r"""$\eta_e = \eta_0 \, \gamma^e$: multiply by ``gamma`` every epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = as_real("ExponentialLR", "gamma", gamma, finite=True, low=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def closed_form_lr(self) -> list[float]:
        return [_power(base, self.gamma, self.last_epoch) for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    r"""$\eta_e = \eta_0 \, (1 - \min(e, T) / T)^{\text{power}}$: down to 0 over ``total_iters`` $T$ epochs."""

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1) -> None:
        self.total_iters = as_int("PolynomialLR", "total_iters", total_iters, low=1)
        self.power = as_real("PolynomialLR", "power", power, finite=True, low=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial or self.last_epoch > self.total_iters:
            return [group["lr"] for group in self.optimizer.param_groups]
        factor = ((1.0 - self.last_epoch / self.total_iters)
                  / (1.0 - (self.last_epoch - 1) / self.total_iters)) ** self.power
        return [group["lr"] * factor for group in self.optimizer.param_groups]

    def closed_form_lr(self) -> list[float]:
        return [base * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
                for base in self.base_lrs]


# ---- cosines -------------------------------------------------------------------------------------------------
class CosineAnnealingLR(LRScheduler):
    r"""$\eta_e = \eta_{\min} + \tfrac12 (\eta_0 - \eta_{\min}) (1 + \cos(\pi e / T_{\max}))$: from the base rate
    down to ``eta_min`` over ``T_max`` epochs (and back up after, as the cosine does). Stepped in PyTorch's
    recursive form, $\eta_e = \eta_{\min} + (\eta_{e-1} - \eta_{\min})
    \frac{1 + \cos(\pi e / T)}{1 + \cos(\pi (e - 1) / T)}$."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        self.T_max = as_int("CosineAnnealingLR", "T_max", T_max, low=1)
        self.eta_min = as_real("CosineAnnealingLR", "eta_min", eta_min, finite=True, low=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        e, T, low = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if self._is_initial:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and e > 0:  # resumed: the closed form
            return self.closed_form_lr()
        if (e - 1 - T) % (2 * T) == 0:  # leaving the minimum, where the ratio below would divide by zero
            return [group["lr"] + (base - low) * (1 - math.cos(math.pi / T)) / 2
                    for base, group in zip(self.base_lrs, groups)]
        ratio = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
        return [ratio * (group["lr"] - low) + low for group in groups]

    def closed_form_lr(self) -> list[float]:
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    r"""$\eta = \eta_{\min} + \tfrac12 (\eta_0 - \eta_{\min}) (1 + \cos(\pi T_{cur} / T_i))$, restarting at the
    base rate after $T_0$ epochs, then after $T_0 T_{mult}$, $T_0 T_{mult}^2$, ... (SGDR). ``step(epoch)`` accepts
    a fractional epoch (``epoch + batch / batches``) to anneal per batch."""

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        name = "CosineAnnealingWarmRestarts"
        self.T_0 = as_int(name, "T_0", T_0, low=1)
        self.T_i = self.T_0
        self.T_mult = as_int(name, "T_mult", T_mult, low=1)
        self.eta_min = as_real(name, "eta_min", eta_min, finite=True)
        self.T_cur: float = as_int(name, "last_epoch", last_epoch, low=-1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        cos = 1 + math.cos(math.pi * self.T_cur / self.T_i)
        return [self.eta_min + (base - self.eta_min) * cos / 2 for base in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Advance one epoch, or go to ``epoch`` (a non-negative number, fractions allowed)."""
        self._step_count += 1
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur %= self.T_i
                self.T_i *= self.T_mult
        else:
            epoch = as_real("CosineAnnealingWarmRestarts.step", "epoch", epoch, finite=True, low=0.0)
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult**n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]


class OneCycleLR(LRScheduler):
    r"""The one-cycle policy, stepped per batch: the rate rises from ``max_lr / div_factor`` to ``max_lr`` over
    the first ``pct_start`` of ``total_steps``, then falls to ``initial_lr / final_div_factor`` (with
    ``three_phase``: back to the initial rate first, then down to the minimum). Each phase anneals by
    ``anneal_strategy``: ``"cos"``, $a + \tfrac12 (b - a)(1 - \cos \pi x)$, or ``"linear"``, $a + (b - a) x$,
    for the fraction $x$ of the phase done. With ``cycle_momentum`` the momentum (SGD, RMSprop) or $\beta_1$
    (Adam-like) moves the opposite way, between ``max_momentum`` and ``base_momentum``."""

    def __init__(self, optimizer: Optimizer, max_lr: float | list[float], total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True, base_momentum: float | list[float] = 0.85,
                 max_momentum: float | list[float] = 0.95, div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False, last_epoch: int = -1) -> None:
        name = "OneCycleLR"
        _check_optimizer(name, optimizer)
        if total_steps is not None:
            self.total_steps = as_int(name, "total_steps", total_steps, low=1)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (as_int(name, "epochs", epochs, low=1)
                                * as_int(name, "steps_per_epoch", steps_per_epoch, low=1))
        else:
            raise ValueError(f"{name}: You must define either total_steps OR (epochs AND steps_per_epoch)")
        pct_start = as_real(name, "pct_start", pct_start, finite=True, low=0.0, high=1.0)
        self._anneal_func_type = as_choice(name, "anneal_strategy", anneal_strategy, ("cos", "linear"))
        three_phase = as_bool(name, "three_phase", three_phase)
        div_factor = as_real(name, "div_factor", div_factor, finite=True)
        final_div_factor = as_real(name, "final_div_factor", final_div_factor, finite=True)
        for key, value in (("div_factor", div_factor), ("final_div_factor", final_div_factor)):
            if value <= 0:
                raise ValueError(f"{name}: {key} must be > 0, got {value}")
        last_epoch = as_int(name, "last_epoch", last_epoch, low=-1)
        rise = float(pct_start * self.total_steps) - 1
        if three_phase:
            self._schedule_phases = [
                {"end_step": rise, "start_lr": "initial_lr", "end_lr": "max_lr",
                 "start_momentum": "max_momentum", "end_momentum": "base_momentum"},
                {"end_step": float(2 * pct_start * self.total_steps) - 2, "start_lr": "max_lr", "end_lr": "initial_lr",
                 "start_momentum": "base_momentum", "end_momentum": "max_momentum"},
                {"end_step": self.total_steps - 1, "start_lr": "initial_lr", "end_lr": "min_lr",
                 "start_momentum": "max_momentum", "end_momentum": "max_momentum"},
            ]
        else:
            self._schedule_phases = [
                {"end_step": rise, "start_lr": "initial_lr", "end_lr": "max_lr",
                 "start_momentum": "max_momentum", "end_momentum": "base_momentum"},
                {"end_step": self.total_steps - 1, "start_lr": "max_lr", "end_lr": "min_lr",
                 "start_momentum": "base_momentum", "end_momentum": "max_momentum"},
            ]
        max_lrs = _per_group(name, "max_lr", optimizer, max_lr, low=0.0)
        self.cycle_momentum = as_bool(name, "cycle_momentum", cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"{name}: optimizer must support momentum or beta1 with `cycle_momentum` option "
                                 f"enabled; {type(optimizer).__name__} has neither (pass cycle_momentum=False)")
            self.use_beta1 = "betas" in optimizer.defaults
            max_momentums = _per_group(name, "max_momentum", optimizer, max_momentum, low=0.0)
            base_momentums = _per_group(name, "base_momentum", optimizer, base_momentum, low=0.0)
        if last_epoch == -1:
            for i, group in enumerate(optimizer.param_groups):
                group["initial_lr"] = max_lrs[i] / div_factor
                group["max_lr"] = max_lrs[i]
                group["min_lr"] = group["initial_lr"] / final_div_factor
                if self.cycle_momentum:
                    if self.use_beta1:
                        group["betas"] = (max_momentums[i], *group["betas"][1:])
                    else:
                        group["momentum"] = max_momentums[i]
                    group["max_momentum"] = max_momentums[i]
                    group["base_momentum"] = base_momentums[i]
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: Tried to step {step} times. The specified number of total steps is "
                             f"{self.total_steps}; build the scheduler with the number of batches of the whole run")
        lrs = []
        last = len(self._schedule_phases) - 1
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step <= end_step or i == last:
                    # a phase of zero length (pct_start * total_steps == 1) counts as done
                    pct = (step - start_step) / (end_step - start_step) if end_step != start_step else 1.0
                    lr = self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], pct)
                    break
                start_step = end_step
            lrs.append(lr)
            if self.cycle_momentum:
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return lrs


# ---- metric-driven ---------------------------------------------------------------------------------------------
class ReduceLROnPlateau(LRScheduler):
    """Multiply the rate by ``factor`` when the metric passed to ``step(metric)`` has not improved for more than
    ``patience`` epochs; improvement means below ``best * (1 - threshold)`` (``mode="min"``, ``"rel"``), below
    ``best - threshold`` (``"abs"``), or above ``best * (1 + threshold)`` / ``best + threshold`` (``"max"``).
    After a reduction ``cooldown`` epochs pass before bad epochs count again; no rate goes below ``min_lr``, and a
    change smaller than ``eps`` is not made."""

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | list[float] = 0.0, eps: float = 1e-8) -> None:
        name = "ReduceLROnPlateau"
        factor = as_real(name, "factor", factor, finite=True, low=0.0)
        if factor >= 1.0:
            raise ValueError(f"{name}: Factor should be < 1.0, got factor={factor}")
        self.factor = factor
        self.optimizer = _check_optimizer(name, optimizer)
        if isinstance(min_lr, (list, tuple)):
            self.min_lrs = _per_group(name, "min_lr", optimizer, min_lr, low=0.0)
            self.default_min_lr: float | None = None
        else:
            self.default_min_lr = as_real(name, "min_lr", min_lr, finite=True, low=0.0)
            self.min_lrs = [self.default_min_lr] * len(optimizer.param_groups)
        self.patience = as_int(name, "patience", patience, low=0)
        self.cooldown = as_int(name, "cooldown", cooldown, low=0)
        self.eps = as_real(name, "eps", eps, finite=True, low=0.0)
        self.mode = as_choice(name, "mode", mode, ("min", "max"))
        self.threshold = as_real(name, "threshold", threshold, finite=True, low=0.0)
        self.threshold_mode = as_choice(name, "threshold_mode", threshold_mode, ("rel", "abs"))
        self.mode_worse = math.inf if self.mode == "min" else -math.inf
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def is_better(self, a: float, best: float) -> bool:
        """Whether the metric value ``a`` improves on ``best`` by the threshold."""
        if self.mode == "min":
            return a < (best * (1.0 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return a > (best * (self.threshold + 1.0) if self.threshold_mode == "rel" else best + self.threshold)

    def step(self, metrics: Any) -> None:  # type: ignore[override]
        """Record one epoch's metric (a number or a one-element tensor) and reduce the rates if it plateaued."""
        try:
            current = float(metrics.item() if hasattr(metrics, "item") else metrics)
        except (TypeError, ValueError):
            raise TypeError(f"ReduceLROnPlateau.step: metrics must be a number (e.g. the validation loss), got "
                            f"{type(metrics).__name__}") from None
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the optimizer has {len(groups)} param groups, "
                                   f"{len(self.min_lrs)} when the scheduler was built (a group was added); set "
                                   "scheduler.min_lrs to one value per group")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new


# ---- combinations ----------------------------------------------------------------------------------------------
class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another, switching at the epochs in ``milestones`` (one fewer than there are
    schedulers); at a switch the next scheduler starts from its own epoch 0 (its closed form)."""

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int],
                 last_epoch: int = -1) -> None:
        name = "SequentialLR"
        _check_optimizer(name, optimizer)
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError(f"{name} expects at least one scheduler, but got no scheduler.")
        for i, scheduler in enumerate(schedulers):
            if not isinstance(scheduler, LRScheduler):
                raise TypeError(f"{name}: schedulers[{i}] is a {type(scheduler).__name__}, not a scheduler")
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(f"{name} does not support `ReduceLROnPlateau` scheduler as it requires a metric "
                                 f"when calling `step`, but got one at index {i} in the given schedulers sequence.")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"{name} expects all schedulers to belong to the same optimizer, but got scheduler "
                                 f"{type(scheduler).__name__} at index {i} with another optimizer")
        milestones = [as_int(name, f"milestones[{i}]", m, low=0) for i, m in enumerate(milestones)]
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"{name}: Sequential Schedulers expects number of schedulers provided to be one more "
                             f"than the number of milestone points, but got number of schedulers {len(schedulers)} "
                             f"and the number of milestones to be equal to {len(milestones)}")
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = as_int(name, "last_epoch", last_epoch, low=-1) + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:  # undo the steps the schedulers made when they were built
            group["lr"] = group["initial_lr"]
        for scheduler in schedulers:
            _undo_step(scheduler)
        first = schedulers[bisect_right(milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self) -> None:
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        state = {k: _copy(v) for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        nested = state.pop("_schedulers", None)
        if nested is None or len(nested) != len(self._schedulers):
            raise ValueError(f"{type(self).__name__}.load_state_dict: expected the states of {len(self._schedulers)} "
                             "schedulers under '_schedulers'")
        super().load_state_dict(state)
        for scheduler, saved in zip(self._schedulers, nested):
            scheduler.load_state_dict(saved)


def _undo_step(scheduler: Any) -> None:
    if hasattr(scheduler, "_schedulers"):
        for inner in scheduler._schedulers:
            _undo_step(inner)
    elif hasattr(scheduler, "last_epoch"):
        scheduler.last_epoch -= 1


class ChainedScheduler(LRScheduler):
    """Step several schedulers of one optimiser together: each ``step()`` steps every one of them in order, so
    their (chainable) changes multiply."""

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None) -> None:
        name = "ChainedScheduler"
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError(f"{name} expects at least one scheduler to be chained, but got no scheduler.")
        for i, scheduler in enumerate(schedulers):
            if not isinstance(scheduler, LRScheduler):
                raise TypeError(f"{name}: schedulers[{i}] is a {type(scheduler).__name__}, not a scheduler")
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(f"{name} does not support `ReduceLROnPlateau` scheduler (index {i}): it needs a "
                                 "metric at each step")
        optimizer = schedulers[0].optimizer if optimizer is None else _check_optimizer(name, optimizer)
        if any(s.optimizer is not optimizer for s in schedulers):
            raise ValueError(f"{name} expects all schedulers to belong to the same optimizer")
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def step(self) -> None:
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    state_dict = SequentialLR.state_dict
    load_state_dict = SequentialLR.load_state_dict


__all__ = ["ChainedScheduler", "ConstantLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "ExponentialLR",
           "LRScheduler", "LambdaLR", "LinearLR", "MultiStepLR", "MultiplicativeLR", "OneCycleLR", "PolynomialLR",
           "ReduceLROnPlateau", "SequentialLR", "StepLR"]
