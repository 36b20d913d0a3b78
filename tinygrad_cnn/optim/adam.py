"""Adam (L2 weight decay added to the gradient, or decoupled) and AdamW (decoupled weight decay), with
``amsgrad`` and ``maximize``, as PyTorch defines them."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from ..tensor_class import Tensor
from ..versions import mark_modified
from .optimizer import Optimizer, lerp_


class Adam(Optimizer):
    r"""For each parameter $p$ with gradient $g$ ($-g$ with ``maximize``), at step $t = 1, 2, \ldots$:

    $$g \leftarrow g + \lambda p \ \text{(or } p \leftarrow p (1 - \eta\lambda) \text{ when decoupled)}, \quad
      m_t = \beta_1 m_{t-1} + (1 - \beta_1) g, \quad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g^2,$$
    $$\hat v_t = \max(\hat v_{t-1}, v_t) \ \text{(amsgrad; else } \hat v_t = v_t), \quad
      p \leftarrow p - \frac{\eta}{1 - \beta_1^t} \cdot \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}$$

    with $m_0 = v_0 = 0$. The moving average of $m$ is computed as PyTorch's ``lerp`` does it,
    $m + (1 - \beta_1)(g - m)$. State per parameter: ``step`` $t$, ``exp_avg`` $m$, ``exp_avg_sq`` $v$ and, with
    ``amsgrad``, ``max_exp_avg_sq`` $\hat v$.
    """

    state_kinds: ClassVar[dict[str, str]] = {
        "step": "int", "exp_avg": "array", "exp_avg_sq": "array", "max_exp_avg_sq": "array"}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 amsgrad: bool = False, *, maximize: bool = False, decoupled_weight_decay: bool = False) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "amsgrad": amsgrad, "maximize": maximize,
                                  "decoupled_weight_decay": decoupled_weight_decay})

    def validate_group(self, group: dict[str, Any]) -> None:
        super().validate_group(group)
        group["eps"] = self.real(group, "eps", "epsilon value")
        group["betas"] = self.betas(group)
        group["weight_decay"] = self.real(group, "weight_decay")
        for key in ("amsgrad", "maximize", "decoupled_weight_decay"):
            group[key] = self.flag(group, key)

    def update_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        for p, g, step in self.prepared_grads(group):
            data = p.data
            m, v = self.array_state(p, "exp_avg"), self.array_state(p, "exp_avg_sq")
            lerp_(m, g, 1 - beta1)
            v *= beta2
            v += (1 - beta2) * g * g
            if group["amsgrad"]:
                v_max = self.array_state(p, "max_exp_avg_sq")
                np.maximum(v_max, v, out=v_max)
                v = v_max
            denom = np.sqrt(v)
            denom /= math.sqrt(1 - beta2**step)
            denom += eps
            update = (lr / (1 - beta1**step)) * m
            update /= denom
            data -= update
            mark_modified(data)


class AdamW(Adam):
    r"""Adam with decoupled weight decay: $p \leftarrow p (1 - \eta \lambda)$ before the Adam step, and the
    gradient is not changed by $\lambda$. Default ``weight_decay=1e-2``."""

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, decoupled_weight_decay=True)

    def validate_group(self, group: dict[str, Any]) -> None:
        super().validate_group(group)
        group["decoupled_weight_decay"] = True  # AdamW's decay is always decoupled (as PyTorch's __setstate__)
