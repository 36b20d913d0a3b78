"""Adagrad (PyTorch's rule: accumulated squared gradients, learning-rate decay, L2 weight decay, ``maximize``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from ..tensor_class import Tensor
from ..versions import mark_modified
from .optimizer import Optimizer


class Adagrad(Optimizer):
    r"""For each parameter $p$ with gradient $g$ ($-g$ with ``maximize``), at step $t = 1, 2, \ldots$:

    $$g \leftarrow g + \lambda p, \quad \tilde\eta = \frac{\eta}{1 + (t - 1)\,\delta}, \quad
      s_t = s_{t-1} + g^2, \quad p \leftarrow p - \tilde\eta \frac{g}{\sqrt{s_t} + \epsilon}$$

    with $s_0$ = ``initial_accumulator_value`` and $\delta$ = ``lr_decay``. As in PyTorch the state (``step`` = 0,
    ``sum`` = $s_0$) is created for every parameter when the optimiser is built.
    """

    state_kinds: ClassVar[dict[str, str]] = {"step": "int", "sum": "array"}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0, eps: float = 1e-10, *,
                 maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value, "eps": eps,
                                  "maximize": maximize})

    def validate_group(self, group: dict[str, Any]) -> None:
        super().validate_group(group)
        group["lr_decay"] = self.real(group, "lr_decay")
        group["weight_decay"] = self.real(group, "weight_decay")
        group["initial_accumulator_value"] = self.real(group, "initial_accumulator_value",
                                                       "initial_accumulator_value value")
        group["eps"] = self.real(group, "eps", "epsilon value")
        group["maximize"] = self.flag(group, "maximize")

    def init_group_state(self, group: dict[str, Any]) -> None:
        for p in group["params"]:
            state = self.state[p]
            state.setdefault("step", 0)
            state.setdefault("sum", np.full_like(p.data, group["initial_accumulator_value"]))

    def update_group(self, group: dict[str, Any]) -> None:
        lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
        for p, g, step in self.prepared_grads(group):
            data = p.data
            clr = lr / (1 + (step - 1) * lr_decay)
            s = self.array_state(p, "sum", group["initial_accumulator_value"])
            s += g * g
            std = np.sqrt(s)
            std += eps
            data -= clr * (g / std)
            mark_modified(data)
