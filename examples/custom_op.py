"""A primitive of your own: softplus, defined by subclassing Function and proven with property tests.

softplus(x) = log(1 + e^x). Computed as written it overflows for large x (e^800 is inf in float64), so the
forward pass uses the identity

    log(1 + e^x) = log(1 + e^-|x|) + max(x, 0),

where e^-|x| <= 1 never overflows and log1p stays exact when e^-|x| is tiny. The derivative is the logistic
sigmoid: d/dx log(1 + e^x) = e^x / (1 + e^x) = sigmoid(x), so the VJP is g * sigmoid(x). It is written with
Tensor operations on the input Tensor, which makes it differentiable in turn: second derivatives
(sigmoid(x) (1 - sigmoid(x))) come for free, and gradgradcheck proves them.

Run it: ``python examples/custom_op.py``. Hypothesis draws shapes (scalars, size-1 axes, odd sizes) and values
in [-20, 20]; every draw is checked against NumPy's logaddexp, gradcheck (first order) and gradgradcheck
(second order).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings

import tinygrad_cnn as tg
from tinygrad_cnn.testing import gradcheck, gradgradcheck
from tinygrad_cnn.testing import strategies as S


class Softplus(tg.Function):
    """out = log(1 + exp(a)), computed as log1p(exp(-|a|)) + max(a, 0).  VJP: g * sigmoid(a)."""

    def forward(ctx, a: np.ndarray) -> np.ndarray:
        return np.log1p(np.exp(-np.abs(a))) + np.maximum(a, 0)

    def vjp(ctx, g: tg.Tensor) -> tg.Tensor:
        (a,) = ctx.inputs  # the input Tensor, so that this VJP is itself differentiable
        return g * a.sigmoid()


def softplus(x: tg.Tensor) -> tg.Tensor:
    """Elementwise softplus of ``x`` (any shape, float32 or float64)."""
    return Softplus.apply(x)


checked: list[tuple[int, ...]] = []


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(S.tensors(S.shapes(min_dims=0, max_dims=3, max_side=4), low=-20.0, high=20.0))
def check_softplus(x: tg.Tensor) -> None:
    """Forward against NumPy, first order against central differences, second order against the same."""
    np.testing.assert_allclose(softplus(x).numpy(), np.logaddexp(0.0, x.numpy()), rtol=1e-12, atol=1e-300)
    assert gradcheck(softplus, x)
    assert gradgradcheck(softplus, x)
    checked.append(x.shape)


def main() -> None:
    check_softplus()
    largest = max(checked, key=lambda s: (int(np.prod(s)), len(s)))
    print(f"gradcheck and gradgradcheck passed on {len(checked)} generated tensors "
          f"({sum(int(np.prod(s)) for s in checked)} elements in all, {len({len(s) for s in checked})} different "
          f"numbers of axes, the largest of shape {largest})")

    x = tg.Tensor(np.array([-800.0, -1.0, 0.0, 1.0, 800.0]), requires_grad=True)
    y = softplus(x)
    y.sum().backward()
    print("x                =", x.numpy())
    print("softplus(x)      =", y.numpy(), "(no overflow at +-800)")
    print("d softplus / dx  =", x.grad.numpy(), "(= sigmoid(x))")
    (second,) = tg.grad(tg.grad(softplus(x).sum(), x, create_graph=True)[0].sum(), x)
    print("d2 softplus/dx2  =", second.numpy(), "(= sigmoid(x) (1 - sigmoid(x)))")

    w = tg.Tensor(np.float32(0.5), requires_grad=True)
    loss = softplus(w * tg.Tensor(np.array([1.0, -2.0], dtype=np.float32))).sum()
    loss.backward()
    print("float32 works too: loss =", loss.item(), "dtype", loss.dtype, "grad", w.grad.item())


if __name__ == "__main__":
    main()
