"""Border padding primitives: ``reflect``, ``replicate`` and ``circular`` (constant padding is ``movement.Pad``).

Each mode is a gather, y[j] = x[src(j)] along every padded axis: src reflects about the border element (reflect),
clamps to it (replicate) or wraps around (circular). ``BorderPad`` computes it with ``np.pad``; its VJP
``BorderPadBackward`` is the adjoint, which folds the gradient of the border back onto the elements it was copied
from; the VJP of that (linear) fold is ``BorderPad`` again.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function

NUMPY_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


class BorderPad(Function):
    """y = x padded by copies of itself: ``pad_width`` one (before, after) pair per axis, ``mode`` reflect (no
    repeat of the border element), replicate or circular.  VJP: BorderPadBackward(g), the borders folded back."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, x, pad_width, mode):
        return np.pad(x, pad_width, mode=NUMPY_MODE[mode])

    def vjp(ctx, g):
        return BorderPadBackward.apply(g, input_shape=ctx.input_shapes[0], **ctx.params)


class BorderPadBackward(Function):
    """dx = the interior of g plus each border of g added onto the elements it copies: reflect adds the mirrored
    border (flipped) next to the edge, replicate sums it onto the edge element, circular onto the far side.
    VJP: BorderPad(u)."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, g, input_shape, pad_width, mode):
        dx = g
        for axis, ((before, after), n) in enumerate(zip(pad_width, input_shape)):
            if not before and not after:
                continue
            def part(start, stop, step=1, axis=axis):
                return (slice(None),) * axis + (slice(start, stop, step),)
            core = dx[part(before, before + n)].copy()
            left, right = dx[part(0, before)], dx[part(before + n, before + n + after)]
            if mode == "reflect":  # x[1 .. before] were copied (mirrored) to the left, x[n-1-after .. n-2] right
                core[part(1, 1 + before)] += left[part(None, None, -1)]
                core[part(n - 1 - after, n - 1)] += right[part(None, None, -1)]
            elif mode == "replicate":
                core[part(0, 1)] += left.sum(axis=axis, keepdims=True)
                core[part(n - 1, n)] += right.sum(axis=axis, keepdims=True)
            else:  # circular: the left border copies the last elements, the right border the first ones
                core[part(n - before, n)] += left
                core[part(0, after)] += right
            dx = core
        return dx if dx is not g else g.copy()

    def vjp(ctx, u):
        return BorderPad.apply(u, pad_width=ctx.params["pad_width"], mode=ctx.params["mode"])
