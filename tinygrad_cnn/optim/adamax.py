"""Adamax: Adam with the infinity norm in place of the second moment (PyTorch's rule, ``maximize``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from ..tensor_class import Tensor
from ..versions import mark_modified
from .optimizer import Optimizer, lerp_


class Adamax(Optimizer):
    r"""For each parameter $p$ with gradient $g$ ($-g$ with ``maximize``), at step $t = 1, 2, \ldots$:

    $$g \leftarrow g + \lambda p, \quad m_t = \beta_1 m_{t-1} + (1 - \beta_1) g, \quad
      u_t = \max(\beta_2 u_{t-1}, |g| + \epsilon), \quad p \leftarrow p - \frac{\eta}{1 - \beta_1^t}
      \frac{m_t}{u_t}$$

    with $m_0 = u_0 = 0$. State per parameter: ``step``, ``exp_avg`` $m$, ``exp_inf`` $u$.
    """

    state_kinds: ClassVar[dict[str, str]] = {"step": "int", "exp_avg": "array", "exp_inf": "array"}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0, *,
                 maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "maximize": maximize})

    def validate_group(self, group: dict[str, Any]) -> None:
        super().validate_group(group)
        group["eps"] = self.real(group, "eps", "epsilon value")
        group["betas"] = self.betas(group)
        group["weight_decay"] = self.real(group, "weight_decay")
        group["maximize"] = self.flag(group, "maximize")

    def update_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        for p, g, step in self.prepared_grads(group):
            data = p.data
            m, u = self.array_state(p, "exp_avg"), self.array_state(p, "exp_inf")
            lerp_(m, g, 1 - beta1)
            u *= beta2
            np.maximum(u, np.abs(g) + eps, out=u)
            data -= (lr / (1 - beta1**step)) * (m / u)
            mark_modified(data)
