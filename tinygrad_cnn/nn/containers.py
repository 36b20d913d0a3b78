"""Containers with PyTorch's names and behaviour: ``Sequential``, ``ModuleList``, ``ModuleDict``,
``ParameterList`` and ``ParameterDict``.

Each registers what it holds as sub-modules (or parameters) named ``"0"``, ``"1"``, ... or by key, so the
names in ``state_dict`` are PyTorch's (``"layers.0.weight"``). Deleting or inserting in a Sequential or ModuleList
renumbers the names to ``"0" .. "n-1"``, as PyTorch's ``__delitem__`` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from .._checks import is_int
from ..tensor_class import Tensor
from .module import Module, Parameter


def _check_module(owner: str, module: Any) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{owner}: {type(module).__name__} is not a Module subclass (got {module!r:.60})")
    return module


def _position(owner: str, index: Any, n: int) -> int:
    """``index`` (an int, negative counting from the end) as a position in [0, n)."""
    if not is_int(index):
        raise TypeError(f"{owner} indices must be integers or slices, not {type(index).__name__}")
    index = int(index)
    if not -n <= index < n:
        raise IndexError(f"{owner}: index {index} is out of range for {n} items")
    return index + n if index < 0 else index


class _IndexedModules(Module):
    """What Sequential and ModuleList share: modules in order, indexed by position."""

    def _items(self) -> list[tuple[str, Module]]:
        return list(self._modules.items())

    def _renumber(self, modules: list[Module]) -> None:
        self._modules.clear()
        for i, module in enumerate(modules):
            self._modules[str(i)] = module

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def __getitem__(self, index: int | slice) -> Any:
        name = type(self).__name__
        if isinstance(index, slice):
            return self._slice(self._items()[index])
        return self._items()[_position(name, index, len(self))][1]

    def __setitem__(self, index: int, module: Module) -> None:
        name = type(self).__name__
        key = self._items()[_position(name, index, len(self))][0]
        self._modules[key] = _check_module(name, module)

    def __delitem__(self, index: int | slice) -> None:
        name = type(self).__name__
        items = self._items()
        if isinstance(index, slice):
            keys = {key for key, _ in items[index]}
            kept = [module for key, module in items if key not in keys]
        else:
            position = _position(name, index, len(items))
            kept = [module for i, (_, module) in enumerate(items) if i != position]
        self._renumber(kept)

    def append(self, module: Module) -> Any:
        """Add ``module`` at the end (named ``str(len(self))``); returns self."""
        self.add_module(str(len(self)), _check_module(type(self).__name__, module))
        return self

    def extend(self, modules: Iterable[Module]) -> Any:
        """Append each module of ``modules``; returns self."""
        name = type(self).__name__
        if not isinstance(modules, Iterable) or isinstance(modules, str):
            raise TypeError(f"{name}.extend should be called with an iterable of Modules, got {type(modules).__name__}")
        for module in list(modules):
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> Any:
        """Insert ``module`` before position ``index`` (``-len <= index <= len``), renumbering; returns self."""
        name = type(self).__name__
        module = _check_module(name, module)
        n = len(self)
        if not is_int(index):
            raise TypeError(f"{name}.insert: index must be an int, got {type(index).__name__}")
        if not -n <= int(index) <= n:
            raise IndexError(f"{name}.insert: index {index} is out of range for {n} items")
        index = int(index) + n if int(index) < 0 else int(index)
        modules = [m for _, m in self._items()]
        modules.insert(index, module)
        self._renumber(modules)
        return self

    def pop(self, index: int = -1) -> Module:
        """Remove and return the module at ``index`` (the last by default), renumbering the rest."""
        module = self[index]
        del self[index]
        return module

    def __iadd__(self, other: Iterable[Module]) -> Any:
        return self.extend(other)

    def __add__(self, other: Any) -> Any:
        if not isinstance(other, type(self)):
            return NotImplemented
        return type(self)(list(self) + list(other))

    def __dir__(self) -> list[str]:
        return [key for key in super().__dir__() if not key.isdigit()]


class Sequential(_IndexedModules):
    """Modules applied in order: ``Sequential(a, b, c)(x) == c(b(a(x)))``. Names are "0", "1", ... unless given
    as one dict (or OrderedDict) of name -> module. Supports ``len``, iteration, ``seq[i]`` (negative too),
    ``seq[i:j]`` (a new Sequential, keeping the names), ``seq[i] = m``, ``del seq[i]``, ``append``, ``extend``,
    ``insert``, ``pop``, ``+`` and ``*``."""

    def __init__(self, *modules: Module | Mapping[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            for name, module in modules[0].items():
                self.add_module(name, _check_module("Sequential", module))
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), _check_module("Sequential", module))

    def _slice(self, items: list[tuple[str, Module]]) -> Sequential:
        return Sequential(dict(items))

    def __add__(self, other: Any) -> Any:
        if not isinstance(other, Sequential):
            return NotImplemented
        return Sequential(*self, *other)

    def __mul__(self, times: int) -> Sequential:
        """The modules repeated ``times`` times (the same module objects, as in PyTorch)."""
        if not is_int(times) or isinstance(times, bool):
            raise TypeError(f"Sequential * {type(times).__name__}: can only multiply by an int")
        if times <= 0:
            raise ValueError(f"Sequential: multiplier must be a positive int, got {times}")
        return Sequential(*(list(self) * int(times)))

    __rmul__ = __mul__

    def forward(self, x: Any) -> Any:
        for module in self:
            x = module(x)
        return x


class ModuleList(_IndexedModules):
    """A list of modules, registered as "0", "1", ...: ``len``, iteration, ``ml[i]``, ``ml[i:j]`` (a new
    ModuleList), ``ml[i] = m``, ``del ml[i]``, ``append``, ``extend``, ``insert``, ``pop``, ``+=`` and ``+``.
    It has no forward: call its items yourself."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _slice(self, items: list[tuple[str, Module]]) -> ModuleList:
        return ModuleList([module for _, module in items])


class ModuleDict(Module):
    """A dict of modules registered under their (string) keys, in insertion order: ``md[key]``, ``md[key] = m``,
    ``del md[key]``, ``key in md``, ``len``, iteration over keys, ``keys``, ``items``, ``values``, ``update``,
    ``pop`` and ``clear``. It has no forward."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, _check_module("ModuleDict", module))

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> Any:
        return self._modules.keys()

    def items(self) -> Any:
        return self._modules.items()

    def values(self) -> Any:
        return self._modules.values()

    def clear(self) -> None:
        self._modules.clear()

    def pop(self, key: str) -> Module:
        """Remove ``key`` and return its module (KeyError if absent)."""
        module = self._modules[key]
        del self[key]
        return module

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add (or replace) the modules of a mapping, or of an iterable of (key, module) pairs, in order."""
        if isinstance(modules, Mapping):
            pairs = list(modules.items())
        elif isinstance(modules, Iterable) and not isinstance(modules, (str, Module)):
            pairs = []
            for i, pair in enumerate(modules):
                if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                    raise ValueError(f"ModuleDict.update: element #{i} should be a (key, module) pair, got "
                                     f"{pair!r:.60}")
                pairs.append(tuple(pair))
        else:
            raise TypeError(f"ModuleDict.update should be called with a mapping or an iterable of (key, module) "
                            f"pairs, got {type(modules).__name__}")
        for key, module in pairs:
            self[key] = module


def _as_parameter(owner: str, value: Any) -> Any:
    """Parameters stay as they are; other tensors become Parameters (requires_grad=True), as in PyTorch."""
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value)
    raise TypeError(f"{owner}: expected a Parameter or a Tensor, got {type(value).__name__}")


def _parameter_line(key: str, p: Parameter) -> str:
    size = "x".join(str(n) for n in p.shape) if p.shape else "()"
    return f"({key}): Parameter containing: [{np.dtype(p.dtype).name} of size {size}]"


class ParameterList(Module):
    """A list of Parameters registered as "0", "1", ... (tensors are wrapped in Parameter): ``len``,
    iteration, ``pl[i]``, ``pl[i:j]`` (a new ParameterList), ``pl[i] = p``, ``append``, ``extend`` and ``+=``."""

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        if values is not None:
            self.extend(values)

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(list(self._parameters.values()))

    def __getitem__(self, index: int | slice) -> Any:
        values = list(self._parameters.values())
        if isinstance(index, slice):
            return ParameterList(values[index])
        return values[_position("ParameterList", index, len(values))]

    def __setitem__(self, index: int, value: Any) -> None:
        position = _position("ParameterList", index, len(self))
        self._parameters[str(position)] = _as_parameter("ParameterList", value)

    def append(self, value: Any) -> ParameterList:
        """Add ``value`` (a Parameter, or a tensor made one) at the end; returns self."""
        self.register_parameter(str(len(self)), _as_parameter("ParameterList", value))
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        """Append each of ``values``; returns self."""
        if not isinstance(values, Iterable) or isinstance(values, Tensor):
            raise TypeError(f"ParameterList.extend should be called with an iterable, got {type(values).__name__}")
        for value in list(values):
            self.append(value)
        return self

    def __iadd__(self, values: Iterable[Any]) -> ParameterList:
        return self.extend(values)

    def __dir__(self) -> list[str]:
        return [key for key in super().__dir__() if not key.isdigit()]

    def extra_repr(self) -> str:
        return "\n".join(_parameter_line(k, p) for k, p in self._parameters.items())


class ParameterDict(Module):
    """A dict of Parameters registered under their (string) keys (tensors are wrapped in Parameter): ``pd[key]``,
    ``pd[key] = p``, ``del pd[key]``, ``key in pd``, ``len``, iteration over keys, ``keys``, ``items``, ``values``,
    ``get``, ``update``, ``pop`` and ``clear``."""

    def __init__(self, parameters: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Parameter:
        return self._parameters[key]

    def __setitem__(self, key: str, value: Any) -> None:
        value = _as_parameter("ParameterDict", value)
        if key in self._parameters:
            self._parameters[key] = value
        else:
            self.register_parameter(key, value)

    def __delitem__(self, key: str) -> None:
        del self._parameters[key]

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._parameters))

    def __contains__(self, key: object) -> bool:
        return key in self._parameters

    def keys(self) -> Any:
        return self._parameters.keys()

    def items(self) -> Any:
        return self._parameters.items()

    def values(self) -> Any:
        return self._parameters.values()

    def get(self, key: str, default: Any = None) -> Any:
        return self._parameters.get(key, default)

    def clear(self) -> None:
        self._parameters.clear()

    def pop(self, key: str) -> Parameter:
        """Remove ``key`` and return its parameter (KeyError if absent)."""
        value = self._parameters[key]
        del self[key]
        return value

    def update(self, parameters: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        """Add (or replace) the parameters of a mapping, or of an iterable of (key, value) pairs, in order."""
        if isinstance(parameters, Mapping):
            pairs = list(parameters.items())
        elif isinstance(parameters, Iterable) and not isinstance(parameters, (str, Tensor)):
            pairs = []
            for i, pair in enumerate(parameters):
                if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                    raise ValueError(f"ParameterDict.update: element #{i} should be a (key, value) pair, got "
                                     f"{pair!r:.60}")
                pairs.append(tuple(pair))
        else:
            raise TypeError(f"ParameterDict.update should be called with a mapping or an iterable of (key, value) "
                            f"pairs, got {type(parameters).__name__}")
        for key, value in pairs:
            self[key] = value

    def extra_repr(self) -> str:
        return "\n".join(_parameter_line(k, p) for k, p in self._parameters.items())


__all__ = ["ModuleDict", "ModuleList", "ParameterDict", "ParameterList", "Sequential"]
