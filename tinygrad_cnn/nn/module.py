"""``Module`` (a tree of layers holding ``Parameter``s) and ``Parameter`` (a leaf tensor that requires grad).

Assigning a ``Parameter`` or a ``Module`` to an attribute of a module registers it, in assignment order;
everything that walks the tree (``parameters``, ``state_dict``, ``train``/``eval``, the repr) follows that order.
Names in ``named_parameters`` and ``state_dict`` are dotted paths, e.g. ``"features.0.weight"``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from .._checks import as_bool
from ..autograd import module_scope
from ..tensor_class import Tensor
from ..versions import mark_modified


class Parameter(Tensor):
    """A leaf tensor that a module owns and an optimiser updates: floating point, ``requires_grad=True``.

    ``Parameter(data, requires_grad=True)``: Python numbers, lists and integer arrays become float32;
    float32 and float64 arrays keep their dtype. A Tensor's data is shared, not copied.
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        array = data.data if isinstance(data, Tensor) else data
        if isinstance(array, np.ndarray) and array.dtype.kind in "biu":
            array = array.astype(np.float32)
        elif not isinstance(array, np.ndarray) and np.asarray(array).dtype.kind in "biu":
            array = np.asarray(array, dtype=np.float32)
        super().__init__(array)
        if self.data.dtype.kind != "f":
            raise TypeError(f"Parameter: data of dtype {self.data.dtype} is not floating point")
        self.requires_grad = requires_grad

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class LoadResult(NamedTuple):
    """What ``load_state_dict(strict=False)`` skipped: parameters without a value, values without a parameter."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of every layer and model: subclass it, assign layers and Parameters in ``__init__``, define
    ``forward``. Calling the module runs ``forward`` inside ``autograd.module_scope(self)``, so each graph node
    records the modules that made it.
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    # ---- registration --------------------------------------------------------------------------
    def _registries(self) -> tuple[dict[str, Parameter | None], dict[str, Module | None]]:
        try:
            return self.__dict__["_parameters"], self.__dict__["_modules"]
        except KeyError:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() at the start of __init__, "
                                 "before assigning layers or parameters") from None

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, (Parameter, Module)):
            params, modules = self._registries()
            self.__dict__.pop(name, None)
            (params if isinstance(value, Parameter) else modules).pop(name, None)
            (modules if isinstance(value, Parameter) else params).pop(name, None)
            (params if isinstance(value, Parameter) else modules)[name] = value
            return
        registries = self.__dict__.get("_parameters"), self.__dict__.get("_modules")
        for registry in registries:
            if registry is not None and name in registry:
                if value is not None:
                    kind = "a Parameter" if registry is registries[0] else "a Module"
                    raise TypeError(f"{type(self).__name__}.{name} is {kind}; assign {kind} or None, "
                                    f"not {type(value).__name__} (wrap a tensor with nn.Parameter)")
                registry[name] = None
                return
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: parameters and sub-modules live in the registries
        d = self.__dict__
        for registry in ("_parameters", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for registry in (self.__dict__.get("_parameters"), self.__dict__.get("_modules")):
            if registry is not None and name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._modules))

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` under ``name``; ``None`` declares an absent parameter (e.g. ``bias=False``)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, got {type(param).__name__}")
        self._check_name(name)
        self.__dict__.pop(name, None)
        self._registries()[0][name] = param

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` under ``name`` (any string without dots, e.g. ``"0"`` in a Sequential)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, got {type(module).__name__}")
        self._check_name(name)
        self.__dict__.pop(name, None)
        self._registries()[1][name] = module

    register_module = add_module

    @staticmethod
    def _check_name(name: str) -> None:
        if not isinstance(name, str) or not name or "." in name:
            raise ValueError(f"module and parameter names must be non-empty strings without dots, got {name!r}")

    # ---- the forward pass -------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} defines no forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with module_scope(self):
            return self.forward(*args, **kwargs)

    # ---- walking the tree -------------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for each direct sub-module, in registration order."""
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module ("" is itself) and every descendant, depth first, each once."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            stack.extend(reversed([(f"{name}.{child_name}" if name else child_name, child)
                                   for child_name, child in module.named_children()]))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) for each parameter, each shared parameter once (under its first name)."""
        seen: set[int] = set()
        owners = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for owner_name, module in owners:
            for name, param in module._parameters.items():
                if param is None or id(param) in seen:
                    continue
                seen.add(id(param))
                yield (f"{owner_name}.{name}" if owner_name else name), param

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    # ---- modes and gradients ----------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set ``training`` on this module and every descendant (Dropout reads it); returns self."""
        mode = as_bool("train", "mode", mode)
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """``train(False)``: inference behaviour (Dropout becomes the identity); returns self."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Drop the gradients of all parameters (``p.grad = None``)."""
        for param in self.parameters():
            param.grad = None

    # ---- state dicts ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """{dotted name: copy of the parameter's array}, in registration order."""
        return {name: param.data.copy() for name, param in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> LoadResult:
        """Copy the arrays of ``state`` into the parameters of the same names.

        Everything is checked before anything is written, so a failed load changes nothing. Raises ValueError
        for missing or unexpected keys (only when ``strict``) and for shape mismatches, TypeError for dtype
        mismatches and values that are not arrays. Returns the skipped keys.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict: expected a dict of arrays, got {type(state).__name__}")
        params = dict(self.named_parameters())
        missing = [name for name in params if name not in state]
        unexpected = [key for key in state if key not in params]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            raise ValueError(f"load_state_dict into {type(self).__name__}: {' and '.join(parts)}; "
                             "pass strict=False to load only the matching keys")
        updates: list[tuple[Parameter, np.ndarray]] = []
        shape_errors, type_errors = [], []
        for name, param in params.items():
            if name not in state:
                continue
            value = state[name]
            array = value.data if isinstance(value, Tensor) else value
            if not isinstance(array, np.ndarray):
                type_errors.append(f"{name}: expected an array, got {type(value).__name__}")
            elif array.shape != param.shape:
                shape_errors.append(f"{name}: checkpoint shape {array.shape}, model shape {param.shape}")
            elif array.dtype != param.dtype:
                type_errors.append(f"{name}: checkpoint dtype {array.dtype}, model dtype {param.dtype}")
            else:
                updates.append((param, array))
        if shape_errors:
            raise ValueError(f"load_state_dict into {type(self).__name__}: shape mismatch for "
                             + "; ".join(shape_errors) + ". Was the state saved from a model of another architecture?")
        if type_errors:
            raise TypeError(f"load_state_dict into {type(self).__name__}: " + "; ".join(type_errors)
                            + ". Convert the arrays (e.g. .astype(np.float32)) before loading")
        for param, array in updates:
            if param.data.flags.writeable:
                np.copyto(param.data, array)
                mark_modified(param.data)
            else:
                param.data = array.copy()
        return LoadResult(missing, unexpected)

    # ---- printing ---------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The arguments shown between the parentheses of this module's repr line."""
        return ""

    def __repr__(self) -> str:
        children = [f"({name}): " + repr(module).replace("\n", "\n  ") for name, module in self.named_children()]
        extra = self.extra_repr()
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = ([extra] if extra else []) + children
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"
