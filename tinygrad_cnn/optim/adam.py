"""Adam (L2 weight decay added to the gradient) and AdamW (decoupled weight decay), as PyTorch defines them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .._checks import as_real
from ..tensor_class import Tensor
from ..versions import mark_modified
from .optimizer import Optimizer


class Adam(Optimizer):
    r"""For each parameter $p$ with gradient $g$, at step $t = 1, 2, \ldots$:

    $$g \leftarrow g + \lambda p, \quad m_t = \beta_1 m_{t-1} + (1 - \beta_1) g, \quad
      v_t = \beta_2 v_{t-1} + (1 - \beta_2) g^2,$$
    $$p \leftarrow p - \frac{\eta}{1 - \beta_1^t} \cdot
      \frac{m_t}{\sqrt{v_t} / \sqrt{1 - \beta_2^t} + \epsilon}$$

    with $m_0 = v_0 = 0$. The moving average of $m$ is computed as PyTorch's ``lerp`` does it,
    $m + (1 - \beta_1)(g - m)$. State per parameter: ``step`` $t$, ``exp_avg`` $m$, ``exp_avg_sq`` $v$.
    """

    state_arrays = ("exp_avg", "exp_avg_sq")
    state_ints = ("step",)
    decoupled_weight_decay = False

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        name = type(self).__name__
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)):
            raise TypeError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        if len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {len(betas)} values: {betas!r}")
        group["betas"] = tuple(as_real(name, f"beta{i + 1}", b, finite=True, low=0.0, high=1.0, high_inclusive=False)
                               for i, b in enumerate(betas))
        group["eps"] = as_real(name, "eps", group["eps"], finite=True, low=0.0)
        group["weight_decay"] = as_real(name, "weight_decay", group["weight_decay"], finite=True, low=0.0)

    def _update(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps, weight_decay = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        for p in group["params"]:
            g = self._grad(p)
            if g is None:
                continue
            data = p.data
            state = self.state.get(p)
            if state is None:
                state = self.state[p] = {"step": 0, "exp_avg": np.zeros_like(data), "exp_avg_sq": np.zeros_like(data)}
            state["step"] += 1
            step, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
            if weight_decay != 0:
                if self.decoupled_weight_decay:
                    data *= 1 - lr * weight_decay
                else:
                    g = g + weight_decay * data
            _lerp_(m, g, data.dtype.type(1 - beta1))
            v *= beta2
            v += (1 - beta2) * g * g
            step_size = lr / (1 - beta1**step)
            denom = np.sqrt(v)
            denom /= (1 - beta2**step) ** 0.5
            denom += eps
            update = step_size * m
            update /= denom
            data -= update
            mark_modified(data)


def _lerp_(start: np.ndarray, end: np.ndarray, weight: np.floating) -> None:
    """``start += weight * (end - start)`` in place, in the two-branch form that is exact at both ends."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        np.subtract(end, (end - start) * (1 - weight), out=start)


class AdamW(Adam):
    r"""Adam with decoupled weight decay: $p \leftarrow p (1 - \eta \lambda)$ before the Adam step, and the
    gradient is not changed by $\lambda$. Default ``weight_decay=1e-2``."""

    decoupled_weight_decay = True

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
