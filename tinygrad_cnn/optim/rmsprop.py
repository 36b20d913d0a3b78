"""RMSprop (PyTorch's rule: square average, optional centering, momentum, L2 weight decay, ``maximize``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from ..tensor_class import Tensor
from ..versions import mark_modified
from .optimizer import Optimizer, lerp_


class RMSprop(Optimizer):
    r"""For each parameter $p$ with gradient $g$ ($-g$ with ``maximize``):

    $$g \leftarrow g + \lambda p, \quad v_t = \alpha v_{t-1} + (1 - \alpha) g^2, \quad
      \tilde v_t = \begin{cases} v_t - \bar g_t^2,\ \bar g_t = \alpha \bar g_{t-1} + (1 - \alpha) g
      & \text{centered} \\ v_t & \text{otherwise} \end{cases}, \quad d = \sqrt{\tilde v_t} + \epsilon,$$
    $$b_t = \mu b_{t-1} + g / d,\ p \leftarrow p - \eta b_t \ \text{(momentum } \mu > 0\text{)}, \quad
      \text{else } p \leftarrow p - \eta g / d.$$

    Note that $\epsilon$ is added outside the square root. State per parameter: ``step``, ``square_avg`` $v$,
    ``momentum_buffer`` $b$ (momentum > 0), ``grad_avg`` $\bar g$ (centered).
    """

    state_kinds: ClassVar[dict[str, str]] = {
        "step": "int", "square_avg": "array", "momentum_buffer": "array", "grad_avg": "array"}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 *, maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                                  "momentum": momentum, "centered": centered, "maximize": maximize})

    def validate_group(self, group: dict[str, Any]) -> None:
        super().validate_group(group)
        group["eps"] = self.real(group, "eps", "epsilon value")
        group["momentum"] = self.real(group, "momentum")
        group["weight_decay"] = self.real(group, "weight_decay")
        group["alpha"] = self.real(group, "alpha")
        group["centered"] = self.flag(group, "centered")
        group["maximize"] = self.flag(group, "maximize")

    def update_group(self, group: dict[str, Any]) -> None:
        lr, alpha, eps, momentum = group["lr"], group["alpha"], group["eps"], group["momentum"]
        for p, g, _ in self.prepared_grads(group):
            data = p.data
            v = self.array_state(p, "square_avg")
            v *= alpha
            v += (1 - alpha) * g * g
            if group["centered"]:
                g_avg = self.array_state(p, "grad_avg")
                lerp_(g_avg, g, 1 - alpha)
                avg = v - g_avg * g_avg
                np.sqrt(avg, out=avg)
            else:
                avg = np.sqrt(v)
            avg += eps
            if momentum > 0:
                buf = self.array_state(p, "momentum_buffer")
                buf *= momentum
                buf += g / avg
                data -= lr * buf
            else:
                data -= lr * (g / avg)
            mark_modified(data)
