"""NAdam: Adam with Nesterov momentum and a momentum-decay schedule (PyTorch's rule, ``maximize``, optional
decoupled weight decay)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from ..tensor_class import Tensor
from ..versions import mark_modified
from .optimizer import Optimizer, lerp_


class NAdam(Optimizer):
    r"""For each parameter $p$ with gradient $g$ ($-g$ with ``maximize``), at step $t = 1, 2, \ldots$, with
    $\psi$ = ``momentum_decay``:

    $$\mu_t = \beta_1 (1 - \tfrac12\, 0.96^{t\psi}), \quad \Pi_t = \prod_{i \le t} \mu_i, \quad
      m_t = \beta_1 m_{t-1} + (1 - \beta_1) g, \quad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g^2,$$
    $$d = \sqrt{v_t / (1 - \beta_2^t)} + \epsilon, \quad
      p \leftarrow p - \eta \frac{1 - \mu_t}{1 - \Pi_t} \frac{g}{d}
        - \eta \frac{\mu_{t+1}}{1 - \Pi_t \mu_{t+1}} \frac{m_t}{d}$$

    after $g \leftarrow g + \lambda p$ (or $p \leftarrow p(1 - \eta\lambda)$ with ``decoupled_weight_decay``).
    State per parameter: ``step``, ``mu_product`` $\Pi_t$ (a float), ``exp_avg`` $m$, ``exp_avg_sq`` $v$.
    """

    state_kinds: ClassVar[dict[str, str]] = {
        "step": "int", "mu_product": "float", "exp_avg": "array", "exp_avg_sq": "array"}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "momentum_decay": momentum_decay, "decoupled_weight_decay": decoupled_weight_decay,
                                  "maximize": maximize})

    def validate_group(self, group: dict[str, Any]) -> None:
        super().validate_group(group)
        group["eps"] = self.real(group, "eps", "epsilon value")
        group["betas"] = self.betas(group)
        group["weight_decay"] = self.real(group, "weight_decay")
        group["momentum_decay"] = self.real(group, "momentum_decay")
        group["decoupled_weight_decay"] = self.flag(group, "decoupled_weight_decay")
        group["maximize"] = self.flag(group, "maximize")

    def update_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        psi = group["momentum_decay"]
        for p, g, step in self.prepared_grads(group):
            data, state = p.data, self.state[p]
            m, v = self.array_state(p, "exp_avg"), self.array_state(p, "exp_avg_sq")
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
            state["mu_product"] = mu_product = state.get("mu_product", 1.0) * mu
            lerp_(m, g, 1 - beta1)
            v *= beta2
            v += (1 - beta2) * g * g
            denom = np.sqrt(v / (1 - beta2**step))
            denom += eps
            data -= (lr * (1.0 - mu) / (1.0 - mu_product)) * (g / denom)
            data -= (lr * mu_next / (1.0 - mu_product * mu_next)) * (m / denom)
            mark_modified(data)
