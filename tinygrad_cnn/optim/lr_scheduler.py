"""Learning-rate schedules: ``StepLR`` and ``CosineAnnealingLR``, in closed form of the epoch counter.

Usage as in PyTorch: build the scheduler after the optimiser (this sets the epoch-0 learning rate), call
``optimizer.step()`` for each batch and ``scheduler.step()`` once per epoch.
"""

from __future__ import annotations

import math
from typing import Any

from .._checks import as_int, as_real
from .optimizer import Optimizer


class LRScheduler:
    """Base class: keeps ``base_lrs`` (each group's ``initial_lr``) and ``last_epoch``; subclasses define
    ``lr_at(base_lr, epoch)``."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: expected an Optimizer, got {type(optimizer).__name__}")
        last_epoch = as_int(name, "last_epoch", last_epoch, low=-1)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        elif any("initial_lr" not in group for group in optimizer.param_groups):
            raise ValueError(f"{name}: resuming with last_epoch={last_epoch} needs 'initial_lr' in every param "
                             "group; load the optimiser's state dict first, or start with last_epoch=-1")
        self.optimizer = optimizer
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def lr_at(self, base_lr: float, epoch: int) -> float:
        raise NotImplementedError(f"{type(self).__name__} defines no lr_at")

    def get_lr(self) -> list[float]:
        """The learning rate of each group at ``last_epoch``."""
        return [self.lr_at(base, self.last_epoch) for base in self.base_lrs]

    def step(self) -> None:
        """Advance one epoch and write the new learning rates into the optimiser's groups."""
        self.last_epoch += 1
        self._last_lr = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step`` set, one per group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimiser (save that one's own state dict)."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore ``state_dict()``; the optimiser's learning rates are set by its own ``load_state_dict``."""
        unknown = set(state) - set(self.__dict__)
        if unknown:
            raise ValueError(f"{type(self).__name__}.load_state_dict: unknown keys {sorted(unknown)}")
        self.__dict__.update({k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in state.items()})


class StepLR(LRScheduler):
    r"""$\eta_e = \eta_0 \, \gamma^{\lfloor e / \text{step\_size} \rfloor}$: multiply by ``gamma`` every
    ``step_size`` epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.step_size = as_int("StepLR", "step_size", step_size, low=1)
        self.gamma = as_real("StepLR", "gamma", gamma, finite=True, low=0.0)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        try:
            return base_lr * self.gamma ** (epoch // self.step_size)
        except OverflowError:  # gamma > 1 for many epochs: past the float range, inf as PyTorch's rate becomes
            return math.inf if base_lr else 0.0


class CosineAnnealingLR(LRScheduler):
    r"""$\eta_e = \eta_{\min} + \tfrac12 (\eta_0 - \eta_{\min}) (1 + \cos(\pi e / T_{\max}))$: from the base rate
    down to ``eta_min`` over ``T_max`` epochs (and back up after, as the cosine does)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        self.T_max = as_int("CosineAnnealingLR", "T_max", T_max, low=1)
        self.eta_min = as_real("CosineAnnealingLR", "eta_min", eta_min, finite=True, low=0.0)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2
