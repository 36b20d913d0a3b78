"""Stochastic gradient descent with momentum, dampening, Nesterov momentum, L2 weight decay and ``maximize``
(PyTorch's rule)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from ..tensor_class import Tensor
from ..versions import mark_modified
from .optimizer import Optimizer


class SGD(Optimizer):
    r"""For each parameter $p$ with gradient $g$ ($-g$ with ``maximize``), at step $t$:

    $$g \leftarrow g + \lambda p, \qquad
      b_t = \begin{cases} g & t = 1 \\ \mu b_{t-1} + (1 - \tau) g & t > 1 \end{cases}, \qquad
      g \leftarrow \begin{cases} g + \mu b_t & \text{nesterov} \\ b_t & \text{otherwise} \end{cases}, \qquad
      p \leftarrow p - \eta g$$

    with learning rate $\eta$ (``lr``), momentum $\mu$, dampening $\tau$ and weight decay $\lambda$; without
    momentum the update is $p \leftarrow p - \eta g$. State per parameter (with momentum): ``momentum_buffer`` $b$.
    """

    state_kinds: ClassVar[dict[str, str]] = {"momentum_buffer": "array"}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize})

    def validate_group(self, group: dict[str, Any]) -> None:
        super().validate_group(group)
        group["momentum"] = self.real(group, "momentum")
        group["dampening"] = self.real(group, "dampening", high=1.0)
        group["weight_decay"] = self.real(group, "weight_decay")
        group["nesterov"] = self.flag(group, "nesterov")
        group["maximize"] = self.flag(group, "maximize")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening, got "
                             f"momentum={group['momentum']}, dampening={group['dampening']}")

    def update_group(self, group: dict[str, Any]) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        nesterov = group["nesterov"]
        for p, g, _ in self.prepared_grads(group, count_steps=False):
            data = p.data
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = g.copy()
                else:
                    buf *= momentum
                    buf += g if dampening == 0 else (1 - dampening) * g
                g = g + momentum * buf if nesterov else buf
            data -= lr * g
            mark_modified(data)
