"""``Sample``: one call of an op (its input arrays and keyword arguments), as the op table draws them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..tensor_class import Tensor


@dataclass(frozen=True)
class Sample:
    """One call of an op: its tensor inputs as arrays, its keyword arguments, and which inputs to differentiate
    (default: every floating-point input)."""

    inputs: tuple[np.ndarray, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    requires_grad: tuple[bool, ...] | None = None

    def grads(self) -> tuple[bool, ...]:
        if self.requires_grad is not None:
            return self.requires_grad
        return tuple(np.asarray(a).dtype.kind == "f" for a in self.inputs)

    def tensors(self, dtype: Any = None) -> list[Tensor]:
        """Fresh leaves (float inputs cast to ``dtype`` when given), requiring grad where ``grads()`` says."""
        out = []
        for a, wants in zip(self.inputs, self.grads()):
            a = np.array(a, copy=True)
            if dtype is not None and a.dtype.kind == "f":
                a = a.astype(dtype)
            out.append(Tensor(a, requires_grad=bool(wants) and a.dtype.kind == "f"))
        return out
