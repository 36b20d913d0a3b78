"""RAdam: Adam with a rectified adaptive learning rate (PyTorch's rule, ``maximize``, optional decoupled weight
decay)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from ..tensor_class import Tensor
from ..versions import mark_modified
from .optimizer import Optimizer, lerp_


class RAdam(Optimizer):
    r"""For each parameter $p$ with gradient $g$ ($-g$ with ``maximize``), at step $t = 1, 2, \ldots$:

    $$m_t = \beta_1 m_{t-1} + (1 - \beta_1) g, \quad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g^2, \quad
      \rho_\infty = \frac{2}{1 - \beta_2} - 1, \quad \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t},$$
    $$p \leftarrow p - \eta \frac{m_t}{1 - \beta_1^t} \cdot \begin{cases}
      r_t \frac{\sqrt{1 - \beta_2^t}}{\sqrt{v_t} + \epsilon} & \rho_t > 5 \\ 1 & \text{otherwise} \end{cases},
      \quad r_t = \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\rho_\infty}{(\rho_\infty - 4)(\rho_\infty - 2)\rho_t}}$$

    after $g \leftarrow g + \lambda p$ (or $p \leftarrow p(1 - \eta\lambda)$ with ``decoupled_weight_decay``).
    State per parameter: ``step``, ``exp_avg`` $m$, ``exp_avg_sq`` $v$.
    """

    state_kinds: ClassVar[dict[str, str]] = {"step": "int", "exp_avg": "array", "exp_avg_sq": "array"}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize})

    def validate_group(self, group: dict[str, Any]) -> None:
        super().validate_group(group)
        group["eps"] = self.real(group, "eps", "epsilon value")
        group["betas"] = self.betas(group)
        group["weight_decay"] = self.real(group, "weight_decay")
        group["decoupled_weight_decay"] = self.flag(group, "decoupled_weight_decay")
        group["maximize"] = self.flag(group, "maximize")

    def update_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        for p, g, step in self.prepared_grads(group):
            data = p.data
            m, v = self.array_state(p, "exp_avg"), self.array_state(p, "exp_avg_sq")
            lerp_(m, g, 1 - beta1)
            v *= beta2
            v += (1 - beta2) * g * g
            bc1, bc2 = 1 - beta1**step, 1 - beta2**step
            update = m / bc1 * lr
            rho_inf = 2 / (1 - beta2) - 1
            rho_t = rho_inf - 2 * step * beta2**step / bc2
            if rho_t > 5.0:
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                denom = np.sqrt(v)
                denom += eps
                update *= math.sqrt(bc2) / denom
                update *= rect
            data -= update
            mark_modified(data)
