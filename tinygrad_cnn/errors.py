"""Exception classes that are also what PyTorch raises in the same situation, so that a PyTorch user's
``except RuntimeError`` / ``except IndexError`` catches ours, while ``except ValueError`` keeps working.

- ``ShapeError``: operand shapes that do not fit together (broadcasting, matmul, concatenation, convolution
  geometry). PyTorch raises RuntimeError there; this is a ValueError and a RuntimeError.
- ``TensorIndexError``: an index out of range or of the wrong kind; an IndexError (as PyTorch and NumPy) and a
  ValueError (as NumPy's AxisError is).
- ``DivisionByZeroError``: integer division or remainder by zero; a ZeroDivisionError, a ValueError and a
  RuntimeError (PyTorch's class for it).
"""

from __future__ import annotations


class ShapeError(ValueError, RuntimeError):
    """Shapes that do not fit together; the message names the op, the shapes and the fix."""


class TensorIndexError(IndexError, ValueError):
    """A bad index for getitem (out of range, wrong type or shape): an IndexError, as for NumPy arrays and lists,
    and also a ValueError, as NumPy's AxisError is, so ``except IndexError`` and ``except ValueError`` both work."""


class DivisionByZeroError(ZeroDivisionError, ValueError, RuntimeError):
    """Integer division, floor division or remainder by zero (a float division gives inf or NaN instead)."""
