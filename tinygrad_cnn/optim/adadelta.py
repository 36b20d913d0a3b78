"""Adadelta (PyTorch's rule: running averages of squared gradients and squared updates, ``maximize``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from ..tensor_class import Tensor
from ..versions import mark_modified
from .optimizer import Optimizer


class Adadelta(Optimizer):
    r"""For each parameter $p$ with gradient $g$ ($-g$ with ``maximize``):

    $$g \leftarrow g + \lambda p, \quad v_t = \rho v_{t-1} + (1 - \rho) g^2, \quad
      \Delta_t = \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g, \quad
      u_t = \rho u_{t-1} + (1 - \rho) \Delta_t^2, \quad p \leftarrow p - \eta \Delta_t$$

    with $v_0 = u_0 = 0$. State per parameter: ``step``, ``square_avg`` $v$, ``acc_delta`` $u$.
    """

    state_kinds: ClassVar[dict[str, str]] = {"step": "int", "square_avg": "array", "acc_delta": "array"}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0.0, *, maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                                  "maximize": maximize})

    def validate_group(self, group: dict[str, Any]) -> None:
        super().validate_group(group)
        group["rho"] = self.real(group, "rho", high=1.0)
        group["eps"] = self.real(group, "eps", "epsilon value")
        group["weight_decay"] = self.real(group, "weight_decay")
        group["maximize"] = self.flag(group, "maximize")

    def update_group(self, group: dict[str, Any]) -> None:
        lr, rho, eps = group["lr"], group["rho"], group["eps"]
        for p, g, _ in self.prepared_grads(group):
            data = p.data
            v, u = self.array_state(p, "square_avg"), self.array_state(p, "acc_delta")
            v *= rho
            v += (1 - rho) * g * g
            delta = np.sqrt(u + eps)
            delta /= np.sqrt(v + eps)
            delta *= g
            u *= rho
            u += (1 - rho) * delta * delta
            data -= lr * delta
            mark_modified(data)
