"""Devices, PyTorch's spelling: ``tg.device("cpu")``, ``x.device``, ``device=`` on the factories, ``x.to("cpu")``.

This project computes with NumPy on the CPU only, so the one device is ``device(type='cpu')``. PyTorch code that
asks (``tg.cuda.is_available()``, ``tg.backends.mps.is_available()``) gets False and picks the CPU; asking for
``"cuda"`` or ``"mps"`` outright is a RuntimeError naming the CPU-only design. At the bottom of the package.
"""

from __future__ import annotations

import builtins
import types
from typing import Any

CPU_ONLY = ("tinygrad_cnn computes with NumPy on the CPU only, so the only device is 'cpu'; drop the device "
             "argument or pass device='cpu'")


class device:  # PyTorch's name (torch.device)
    """``device("cpu")``, ``device("cpu:0")``, ``device("cpu", 0)`` or ``device(other_device)``: the CPU."""

    __slots__ = ("index", "type")

    def __init__(self, type: Any = "cpu", index: int | None = None) -> None:
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string such as 'cpu' or a device, got {type!r} "
                            f"({builtins.type(type).__name__})")
        kind, _, number = type.partition(":")
        if number:
            if not number.isdigit():
                raise ValueError(f"device: invalid device string {type!r}; expected e.g. 'cpu' or 'cpu:0'")
            if index is not None:
                raise ValueError(f"device: {type!r} already names an index; do not pass index={index} too")
            index = int(number)
        if kind != "cpu":
            raise RuntimeError(f"device: {type!r} is not available: {CPU_ONLY}")
        if index is not None and (isinstance(index, bool) or not isinstance(index, int) or index < 0):
            raise ValueError(f"device: index must be a non-negative int, got {index!r}")
        self.type, self.index = "cpu", index

    def __repr__(self) -> str:
        return f"device(type='{self.type}')" if self.index is None else f"device(type='{self.type}', " \
                                                                       f"index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (TypeError, ValueError, RuntimeError):
                return False
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")


_KNOWN = ("cpu", "cuda", "mps", "xpu", "meta", "xla", "hip", "vulkan", "ipu", "hpu", "mtia", "privateuseone")


def is_device(value: Any) -> bool:
    """Whether ``value`` reads as a device (a device object, or a string naming a device type, available or not):
    how ``x.to(...)`` tells ``x.to("cpu")`` from ``x.to("float32")``."""
    return isinstance(value, device) or (isinstance(value, str) and value.partition(":")[0] in _KNOWN)


def check_device(op: str, value: Any) -> None:
    """Accept None, 'cpu', 'cpu:0' or a cpu device; RuntimeError naming ``op`` and the CPU-only design for any
    other device (an int too: PyTorch reads ``device=0`` as the first CUDA device), TypeError for a value that is
    not a device."""
    if value is None or value is CPU:
        return
    if isinstance(value, bool) or not isinstance(value, (str, device, int)):
        raise TypeError(f"{op}: device must be 'cpu', a tg.device or None, got {value!r} "
                        f"({type(value).__name__})")
    if isinstance(value, int):
        raise RuntimeError(f"{op}: device={value} names an accelerator (cuda:{value}); {CPU_ONLY}")
    try:
        device(value)
    except RuntimeError:
        raise RuntimeError(f"{op}: device {str(value)!r} is not available: {CPU_ONLY}") from None
    except ValueError as err:
        raise ValueError(f"{op}: {err}") from None


def _false() -> bool:
    return False


def _zero() -> int:
    return 0


def _no_cuda(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError(f"cuda: not available; {CPU_ONLY}")


#: ``tg.cuda.is_available()`` -> False (PyTorch scripts pick their device with it); ``device_count()`` -> 0;
#: ``manual_seed``/``manual_seed_all`` do nothing (there is no CUDA generator to seed); anything else is an error.
cuda = types.SimpleNamespace(is_available=_false, device_count=_zero, is_initialized=_false,
                             manual_seed=lambda seed: None, manual_seed_all=lambda seed: None,
                             current_device=_no_cuda, synchronize=_no_cuda, empty_cache=lambda: None)
#: ``tg.backends.mps.is_available()`` -> False; ``tg.backends.cudnn.deterministic`` / ``.benchmark`` can be set
#: (there is no cuDNN; NumPy on the CPU is deterministic).
backends = types.SimpleNamespace(mps=types.SimpleNamespace(is_available=_false, is_built=_false),
                                 cudnn=types.SimpleNamespace(is_available=_false, deterministic=False,
                                                             benchmark=False, enabled=True))
#: ``tg.accelerator.is_available()`` -> False (PyTorch 2.6's spelling of the question).
accelerator = types.SimpleNamespace(is_available=_false, device_count=_zero, current_accelerator=lambda: None)
