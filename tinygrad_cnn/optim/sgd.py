"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay (PyTorch's rule)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._checks import as_bool, as_real
from ..tensor_class import Tensor
from ..versions import mark_modified
from .optimizer import Optimizer


class SGD(Optimizer):
    r"""For each parameter $p$ with gradient $g$, at step $t$:

    $$g \leftarrow g + \lambda p, \qquad
      b_t = \begin{cases} g & t = 1 \\ \mu b_{t-1} + (1 - \tau) g & t > 1 \end{cases}, \qquad
      g \leftarrow \begin{cases} g + \mu b_t & \text{nesterov} \\ b_t & \text{otherwise} \end{cases}, \qquad
      p \leftarrow p - \eta g$$

    with learning rate $\eta$ (``lr``), momentum $\mu$, dampening $\tau$ and weight decay $\lambda$; without
    momentum the update is $p \leftarrow p - \eta g$. State per parameter: ``momentum_buffer`` $b$.
    """

    state_arrays = ("momentum_buffer",)

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float, momentum: float = 0.0,
                 dampening: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening, "nesterov": nesterov,
                                  "weight_decay": weight_decay})

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        group["momentum"] = as_real("SGD", "momentum", group["momentum"], finite=True, low=0.0)
        group["dampening"] = as_real("SGD", "dampening", group["dampening"], finite=True, low=0.0, high=1.0)
        group["weight_decay"] = as_real("SGD", "weight_decay", group["weight_decay"], finite=True, low=0.0)
        group["nesterov"] = as_bool("SGD", "nesterov", group["nesterov"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0, got "
                             f"momentum={group['momentum']}, dampening={group['dampening']}")

    def _update(self, group: dict[str, Any]) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        nesterov, weight_decay = group["nesterov"], group["weight_decay"]
        for p in group["params"]:
            g = self._grad(p)
            if g is None:
                continue
            data = p.data
            if weight_decay != 0:
                g = g + weight_decay * data
            if momentum != 0:
                state = self.state.get(p)
                if state is None:
                    buf = g.copy()
                    self.state[p] = {"momentum_buffer": buf}
                else:
                    buf = state["momentum_buffer"]
                    buf *= momentum
                    buf += g if dampening == 0 else (1 - dampening) * g
                g = g + momentum * buf if nesterov else buf
            data -= lr * g
            mark_modified(data)
