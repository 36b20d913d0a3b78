"""``Module`` (a tree of layers holding ``Parameter``s and buffers) and ``Parameter`` (a leaf tensor that requires
grad), with PyTorch's semantics.

Assigning a ``Parameter`` or a ``Module`` to an attribute of a module registers it, in assignment order;
``register_buffer`` registers a tensor that is state but not trained (BatchNorm's running statistics). Everything
that walks the tree (``parameters``, ``buffers``, ``state_dict``, ``train``/``eval``, ``to``, the repr) follows that
order. Names in ``named_parameters`` and ``state_dict`` are dotted paths, e.g. ``"features.0.weight"``.

A plain list, tuple or dict of modules assigned as an attribute registers nothing (as in PyTorch): a UserWarning,
once per (class, attribute), points to ``nn.ModuleList`` / ``nn.ModuleDict``.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from .._checks import as_bool, as_dtype
from ..autograd import module_scope
from ..device import check_device, is_device
from ..tensor_class import Tensor
from ..versions import mark_modified


class Parameter(Tensor):
    """A leaf tensor that a module owns and an optimiser updates: floating point, ``requires_grad=True``.

    ``Parameter(data, requires_grad=True)``: Python numbers, lists and integer arrays become float32;
    float32 and float64 arrays keep their dtype. A Tensor's data is shared, not copied.
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        array = np.empty(0, np.float32) if data is None else data.data if isinstance(data, Tensor) else data
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
    """What ``load_state_dict(strict=False)`` skipped: entries without a value, values without an entry."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class RemovableHandle:
    """Returned by ``register_forward_hook`` / ``register_forward_pre_hook``: ``handle.remove()`` removes the hook
    (again is a no-op); also a context manager that removes it on exit."""

    _ids = itertools.count()

    def __init__(self, registry: dict[int, Any]) -> None:
        self.id = next(RemovableHandle._ids)
        self._registry = registry

    def remove(self) -> None:
        self._registry.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


_WARNED: set[tuple[type, str]] = set()  # (class, attribute) pairs already warned about a plain list of modules


def _warn_unregistered(owner: Module, name: str, value: Any) -> None:
    if isinstance(value, Mapping):
        items, kind, fix = list(value.values()), "dict", ("nn.ModuleDict", "nn.ParameterDict")
    elif isinstance(value, (list, tuple)):
        items, kind, fix = list(value), type(value).__name__, ("nn.ModuleList", "nn.ParameterList")
    else:
        return
    if any(isinstance(v, Module) for v in items):
        what, container = "Modules", fix[0]
    elif any(isinstance(v, Parameter) for v in items):
        what, container = "Parameters", fix[1]
    else:
        return
    key = (type(owner), name)
    if key in _WARNED:
        return
    _WARNED.add(key)
    warnings.warn(f"{type(owner).__name__}.{name} is a plain {kind} of {what}, which registers nothing: they are "
                  "missing from parameters(), state_dict(), train()/eval() and to(). Wrap it in "
                  f"{container}(...) to register them (this warning is shown once per class and attribute)",
                  UserWarning, stacklevel=3)


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def _parse_to(args: tuple, kwargs: dict) -> np.dtype | None:
    """The dtype of ``Module.to(...)`` (None: keep); the device must be the CPU (the only one here)."""
    unknown = set(kwargs) - {"device", "dtype", "non_blocking", "copy", "memory_format"}
    if unknown:
        raise TypeError(f"Module.to: unexpected keyword arguments {sorted(unknown)}")
    if len(args) > 2:
        raise TypeError(f"Module.to: expected at most 2 positional arguments (device, dtype), got {len(args)}")
    device, dtype = kwargs.get("device"), kwargs.get("dtype")
    for arg in args:
        if isinstance(arg, Tensor):
            dtype = arg.dtype
        elif is_device(arg):
            device = arg
        else:
            dtype = arg
    check_device("Module.to", device)
    if dtype is None:
        return None
    dtype = as_dtype("Module.to", dtype)
    if dtype.kind != "f":
        raise TypeError(f"Module.to: dtype must be a floating point dtype (as in PyTorch), got {dtype}")
    return dtype


class Module:
    """Base class of every layer and model: subclass it, assign layers and Parameters in ``__init__``, define
    ``forward``. Calling the module runs the forward pre-hooks, ``forward`` and the forward hooks inside
    ``autograd.module_scope(self)``, so each graph node records the modules that made it.
    """

    training: bool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments; Module.__init__ takes none")
        for name in ("_parameters", "_buffers", "_modules", "_forward_pre_hooks", "_forward_hooks",
                     "_forward_hooks_with_kwargs", "_forward_pre_hooks_with_kwargs"):
            object.__setattr__(self, name, {})
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "training", True)

    # ---- registration --------------------------------------------------------------------------
    def _registry(self, which: str) -> dict:
        try:
            return self.__dict__[which]
        except KeyError:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() at the start of __init__, "
                                 "before assigning layers, parameters or buffers") from None

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if isinstance(value, (Parameter, Module)):
            params, buffers, modules = (self._registry(r) for r in ("_parameters", "_buffers", "_modules"))
            d.pop(name, None)
            buffers.pop(name, None)
            d["_non_persistent_buffers_set"].discard(name)
            if isinstance(value, Parameter):
                modules.pop(name, None)
                params[name] = value
            else:
                params.pop(name, None)
                modules[name] = value
            return
        for registry, kind, allowed in (("_parameters", "a Parameter", Parameter), ("_modules", "a Module", Module),
                                        ("_buffers", "a buffer", Tensor)):
            if registry in d and name in d[registry]:
                if value is not None and not isinstance(value, allowed):
                    fix = "wrap a tensor with nn.Parameter" if allowed is Parameter else (
                        "assign a Tensor" if allowed is Tensor else "assign a Module")
                    raise TypeError(f"{type(self).__name__}.{name} is {kind}; assign "
                                    f"{'a Tensor' if allowed is Tensor else kind} or None, "
                                    f"not {type(value).__name__} ({fix})")
                d[registry][name] = value
                return
        if "_modules" in d:
            _warn_unregistered(self, name, value)
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: parameters, buffers and sub-modules live in the registries
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                del d[registry][name]
                d["_non_persistent_buffers_set"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    def _check_new_name(self, kind: str, name: Any, registry: str) -> None:
        """PyTorch's checks: a str (TypeError), no dot, not empty, not an existing other attribute (KeyError)."""
        self._registry(registry)
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if not name:
            raise KeyError(f"{kind} name must not be empty")
        if "." in name:
            raise KeyError(f"{kind} name {name} must not contain a dot")
        if name in self.__dict__ or (hasattr(type(self), name)) or any(
                name in self.__dict__[r] for r in ("_parameters", "_buffers", "_modules") if r != registry):
            raise KeyError(f"attribute {name!r} already exists in {type(self).__name__}")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` under ``name``; ``None`` declares an absent parameter (e.g. ``bias=False``)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, got {type(param).__name__}"
                            " (wrap a tensor with nn.Parameter)")
        self._check_new_name("parameter", name, "_parameters")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register ``tensor`` as a buffer: module state that is not a parameter (e.g. BatchNorm's
        ``running_mean``). It is an attribute, moves with ``to(dtype)`` (floating-point buffers), and is in
        ``state_dict`` unless ``persistent=False``. ``None`` declares an absent buffer. Assigning a Tensor to the
        name later replaces the buffer."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, got {type(tensor).__name__} "
                            "(wrap an array with tg.Tensor)")
        persistent = as_bool("register_buffer", "persistent", persistent)
        self._check_new_name("buffer", name, "_buffers")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` under ``name`` (any string without dots, e.g. ``"0"`` in a Sequential)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, got {type(module).__name__}")
        self._check_new_name("module", name, "_modules")
        self._modules[name] = module

    register_module = add_module

    def _get_name(self) -> str:
        return type(self).__name__

    # ---- the forward pass -------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} defines no forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        d = self.__dict__
        pre, post = d.get("_forward_pre_hooks"), d.get("_forward_hooks")
        with module_scope(self):
            if not pre and not post:
                return self.forward(*args, **kwargs)
            for key, hook in list(pre.items()):
                if key in d["_forward_pre_hooks_with_kwargs"]:
                    result = hook(self, args, kwargs)
                    if result is not None:
                        if not (isinstance(result, tuple) and len(result) == 2):
                            raise RuntimeError("forward pre-hook registered with with_kwargs=True must return None "
                                               f"or a tuple (args, kwargs), got {type(result).__name__}")
                        args, kwargs = result
                else:
                    result = hook(self, args)
                    if result is not None:
                        args = result if isinstance(result, tuple) else (result,)
            output = self.forward(*args, **kwargs)
            for key, hook in list(post.items()):
                if key in d["_forward_hooks_with_kwargs"]:
                    result = hook(self, args, kwargs, output)
                else:
                    result = hook(self, args, output)
                if result is not None:
                    output = result
            return output

    def _add_hook(self, registry: str, hook: Callable, prepend: bool, with_kwargs: bool) -> RemovableHandle:
        if not callable(hook):
            raise TypeError(f"register_{registry.strip('_')[:-1]}: hook must be callable, got {type(hook).__name__}")
        hooks = self._registry(registry)
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if as_bool("register hook", "prepend", prepend):
            for key in [k for k in hooks if k != handle.id]:
                hooks[key] = hooks.pop(key)
        if as_bool("register hook", "with_kwargs", with_kwargs):
            kw = self.__dict__[registry + "_with_kwargs"]
            kw[handle.id] = True
            kw_handle = handle

            def remove() -> None:
                hooks.pop(kw_handle.id, None)
                kw.pop(kw_handle.id, None)
            handle.remove = remove  # type: ignore[method-assign]
        return handle

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args)`` before each ``forward``; a returned value (a tuple, or one value that is
        wrapped in a tuple) replaces the positional arguments. ``with_kwargs=True``: ``hook(module, args, kwargs)``
        returning None or ``(args, kwargs)``. ``prepend=True`` runs it before the hooks already registered."""
        return self._add_hook("_forward_pre_hooks", hook, prepend, with_kwargs)

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each ``forward``; a returned value replaces the output.
        ``with_kwargs=True``: ``hook(module, args, kwargs, output)``."""
        return self._add_hook("_forward_hooks", hook, prepend, with_kwargs)

    # ---- walking the tree -------------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for each direct sub-module, in registration order, each module once."""
        seen: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module (named ``prefix``, "" by default) and every descendant, depth
        first in registration order; a module reachable twice is listed once unless ``remove_duplicate=False``.
        ``memo`` is a set of modules to skip (it is updated)."""
        seen: set[int] = {id(m) for m in memo} if memo is not None else set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            if remove_duplicate:
                seen.add(id(module))
                if memo is not None:
                    memo.add(module)
            yield name, module
            stack.extend(reversed([(f"{name}.{child_name}" if name else child_name, child)
                                   for child_name, child in module._modules.items() if child is not None]))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def _named_members(self, registry: str, prefix: str, recurse: bool,
                       remove_duplicate: bool) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        owners = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse
                  else iter([(prefix, self)]))
        for owner_name, module in owners:
            for name, value in module.__dict__[registry].items():
                if value is None or id(value) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(value))
                yield (f"{owner_name}.{name}" if owner_name else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) for each parameter; a shared parameter once, under its first name, unless
        ``remove_duplicate=False``; ``recurse=False``: only this module's own."""
        return self._named_members("_parameters", prefix, as_bool("named_parameters", "recurse", recurse),
                                   as_bool("named_parameters", "remove_duplicate", remove_duplicate))

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer) for each buffer (persistent or not), as ``named_parameters``."""
        return self._named_members("_buffers", prefix, as_bool("named_buffers", "recurse", recurse),
                                   as_bool("named_buffers", "remove_duplicate", remove_duplicate))

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def get_submodule(self, target: str) -> Module:
        """The module at dotted path ``target`` ("" is self); AttributeError naming the first missing step."""
        if target == "":
            return self
        module: Module = self
        for item in target.split("."):
            if not hasattr(module, item):
                raise AttributeError(f"{module._get_name()} has no attribute `{item}` (looking up {target!r})")
            module = getattr(module, item)
            if not isinstance(module, Module):
                raise AttributeError(f"`{item}` is not an nn.Module (looking up {target!r})")
        return module

    def _get_member(self, target: str, kind: str) -> Any:
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if not hasattr(module, name):
            raise AttributeError(f"{module._get_name()} has no attribute `{name}` (looking up {target!r})")
        if kind == "buffer":
            if name not in module._buffers:
                raise AttributeError(f"`{name}` is not a buffer (looking up {target!r})")
            return module._buffers[name]
        value = getattr(module, name)
        if not isinstance(value, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter (looking up {target!r})")
        return value

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at dotted path ``target``, e.g. ``"features.0.weight"``."""
        return self._get_member(target, "parameter")

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at dotted path ``target``, e.g. ``"bn.running_mean"``."""
        return self._get_member(target, "buffer")

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn(module)`` on every sub-module (children first, recursively) and then on self; returns self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ---- modes and gradients ----------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set ``training`` on this module and (through their ``train``) every descendant; returns self."""
        if not _is_bool(mode):
            raise ValueError(f"training mode is expected to be boolean, got {mode!r} ({type(mode).__name__})")
        object.__setattr__(self, "training", bool(mode))
        for module in self.children():
            module.train(bool(mode))
        return self

    def eval(self) -> Module:
        """``train(False)``: inference behaviour (Dropout becomes the identity); returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` of every parameter (e.g. to freeze a backbone); returns self."""
        requires_grad = as_bool("requires_grad_", "requires_grad", requires_grad)
        for param in self.parameters():
            param.requires_grad = requires_grad
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop the gradients of all parameters (``p.grad = None``), or with ``set_to_none=False`` set each
        existing gradient to zeros (a fresh array: gradients may share memory with other tensors)."""
        set_to_none = as_bool("zero_grad", "set_to_none", set_to_none)
        for param in self.parameters():
            if param.grad is None or set_to_none:
                param.grad = None
            else:
                param.grad = Tensor(np.zeros_like(param.grad.data))

    # ---- dtype and device -------------------------------------------------------------------------
    def _cast(self, dtype: np.dtype, floating_only: bool = True) -> Module:
        for module in self.modules():
            for registry in ("_parameters", "_buffers"):
                for tensor in module.__dict__[registry].values():
                    if tensor is None or (floating_only and tensor.dtype.kind != "f") or tensor.dtype == dtype:
                        continue
                    tensor.data = tensor.data.astype(dtype)
                    if tensor.grad is not None:
                        tensor.grad = Tensor(tensor.grad.data.astype(dtype))
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)`` or keywords: cast the floating-point
        parameters and buffers to ``dtype`` in place (the same Parameter objects, new arrays); the device may
        only be the CPU. Returns self."""
        dtype = _parse_to(args, kwargs)
        return self if dtype is None else self._cast(dtype)

    def float(self) -> Module:
        """Cast floating-point parameters and buffers to float32; returns self."""
        return self._cast(np.dtype(np.float32))

    def double(self) -> Module:
        """Cast floating-point parameters and buffers to float64; returns self."""
        return self._cast(np.dtype(np.float64))

    def half(self) -> Module:
        """Cast floating-point parameters and buffers to float16; returns self."""
        return self._cast(np.dtype(np.float16))

    def type(self, dst_type: Any) -> Module:
        """Cast every parameter and buffer to ``dst_type`` (a float dtype; integer buffers too); returns self."""
        dtype = as_dtype("Module.type", dst_type)
        if dtype.kind != "f":
            raise TypeError(f"Module.type: dst_type must be a floating point dtype (parameters must stay floating "
                            f"point), got {dtype}")
        return self._cast(dtype, floating_only=False)

    def cpu(self) -> Module:
        """A no-op (everything lives on the CPU here); returns self."""
        return self

    # ---- state dicts ------------------------------------------------------------------------------
    def _state_items(self, prefix: str) -> Iterator[tuple[str, Tensor]]:
        """PyTorch's order: each module's own parameters, then its own persistent buffers, then its children,
        recursively (a shared parameter or module is listed under every name)."""
        for name, param in self._parameters.items():
            if param is not None:
                yield prefix + name, param
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers_set:
                yield prefix + name, buffer
        for name, module in self._modules.items():
            if module is not None:
                yield from module._state_items(prefix + name + ".")

    def state_dict(self, *, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> dict[str, Any]:
        """{dotted name: copy of the array} for every parameter and persistent buffer, in PyTorch's order (a
        module's parameters, its buffers, then its children). ``keep_vars=True`` gives the tensors themselves.
        Unlike PyTorch the values are NumPy arrays, which is what checkpoints here hold."""
        keep_vars = as_bool("state_dict", "keep_vars", keep_vars)
        out = {} if destination is None else destination
        for name, tensor in self._state_items(prefix):
            out[name] = tensor if keep_vars else tensor.data.copy()
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> LoadResult:
        """Copy the arrays of ``state_dict`` into the parameters and persistent buffers of the same names.

        Everything is checked before anything is written, so a failed load changes nothing. Raises ValueError
        for missing or unexpected keys (only when ``strict``) and for shape mismatches, TypeError for dtype
        mismatches and values that are not arrays. Returns the skipped keys.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: expected a dict of arrays, got {type(state_dict).__name__}")
        strict = as_bool("load_state_dict", "strict", strict)
        targets = dict(self._state_items(""))
        missing = [name for name in targets if name not in state_dict]
        unexpected = [key for key in state_dict if key not in targets]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            raise ValueError(f"load_state_dict into {type(self).__name__}: {' and '.join(parts)}; "
                             "pass strict=False to load only the matching keys")
        updates: list[tuple[Tensor, np.ndarray]] = []
        shape_errors, type_errors = [], []
        for name, target in targets.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            array = value.data if isinstance(value, Tensor) else value
            if not isinstance(array, np.ndarray):
                type_errors.append(f"{name}: expected an array, got {type(value).__name__}")
            elif array.shape != target.shape:
                shape_errors.append(f"{name}: checkpoint shape {array.shape}, model shape {target.shape}")
            elif array.dtype != target.dtype:
                type_errors.append(f"{name}: checkpoint dtype {array.dtype}, model dtype {target.dtype}")
            else:
                updates.append((target, array))
        if shape_errors:
            raise ValueError(f"load_state_dict into {type(self).__name__}: shape mismatch for "
                             + "; ".join(shape_errors) + ". Was the state saved from a model of another architecture?")
        if type_errors:
            raise TypeError(f"load_state_dict into {type(self).__name__}: " + "; ".join(type_errors)
                            + ". Convert the arrays (e.g. .astype(np.float32)) before loading")
        for target, array in updates:
            if target.data.flags.writeable:
                np.copyto(target.data, array)
                mark_modified(target.data)
            else:
                target.data = array.copy()
        return LoadResult(missing, unexpected)

    # ---- printing ---------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The arguments shown between the parentheses of this module's repr line (may span several lines)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        children = [f"({name}): " + repr(module).replace("\n", "\n  ") for name, module in self._modules.items()
                    if module is not None]
        lines = extra_lines + children
        if not lines:
            return f"{type(self).__name__}()"
        if len(extra_lines) == 1 and not children:
            return f"{type(self).__name__}({extra})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"
