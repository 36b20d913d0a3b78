"""``Optimizer``: parameter groups, per-parameter state, ``zero_grad``, ``step`` and state dicts.

Subclasses implement ``_update(group)`` as in-place NumPy on ``p.data``: no graph is recorded, ``p.grad`` is
never written, parameters whose ``grad`` is None are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from .._checks import as_int, as_real
from ..autograd import enable_grad
from ..tensor_class import Tensor


class Optimizer:
    """Base class. ``params``: an iterable of tensors, or of dicts ``{"params": [...], "lr": ..., ...}`` (parameter
    groups, each overriding the defaults).
    """

    #: names of the per-parameter state entries holding arrays (shaped like the parameter) and ints
    state_arrays: tuple[str, ...] = ()
    state_ints: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        if isinstance(params, (Tensor, dict)):
            raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts (e.g. model.parameters()), "
                            f"got a single {type(params).__name__}")
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        try:
            params = list(params)
        except TypeError:
            raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts (e.g. model.parameters()), "
                            f"got {type(params).__name__}") from None
        if not params:
            raise ValueError(f"{name}: got an empty parameter list; pass model.parameters() of a model with weights")
        if all(isinstance(p, dict) for p in params):
            groups = params
        elif any(isinstance(p, dict) for p in params):
            raise TypeError(f"{name}: params mixes tensors and param-group dicts; pass one kind")
        else:
            groups = [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    # ---- groups ---------------------------------------------------------------------------------
    def add_param_group(self, group: Mapping[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (missing ones come from the defaults)."""
        name = type(self).__name__
        if not isinstance(group, Mapping) or "params" not in group:
            raise TypeError(f"{name}: a param group must be a dict with a 'params' key")
        params = group["params"]
        try:
            params = [params] if isinstance(params, Tensor) else list(params)
        except TypeError:
            raise TypeError(f"{name}: a param group's 'params' must be a Tensor or an iterable of Tensors, got "
                            f"{type(params).__name__}") from None
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: parameter {i} of a group is a {type(p).__name__}, not a Tensor")
            if p.dtype.kind != "f":
                raise TypeError(f"{name}: parameter {i} has dtype {p.dtype}; only float tensors can be optimised")
            if not p.is_leaf:
                raise ValueError(f"{name}: parameter {i} (shape {p.shape}) is not a leaf tensor; optimise the "
                                 "tensors you created (e.g. model.parameters()), not results of operations")
        known = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or any(id(p) in known for p in params):
            raise ValueError(f"{name}: a parameter appears more than once across parameter groups")
        unknown = set(group) - set(self.defaults) - {"params", "initial_lr"}
        if unknown:
            raise ValueError(f"{name}: unknown hyperparameters {sorted(unknown)} in a param group; "
                             f"known ones are {sorted(self.defaults)}")
        full = {**self.defaults, **{k: v for k, v in group.items() if k != "params"}, "params": params}
        self._check_group(full)
        self.param_groups.append(full)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Raise ValueError for invalid hyperparameters; normalise them in place (floats)."""
        group["lr"] = as_real(type(self).__name__, "learning rate lr", group["lr"], finite=True, low=0.0)

    # ---- the update ---------------------------------------------------------------------------------
    def zero_grad(self) -> None:
        """Drop every parameter's gradient (``p.grad = None``), so the next backward starts afresh."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient. ``closure`` (optional) recomputes and returns the
        loss first, with gradients enabled."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update(group)
        return loss

    def _update(self, group: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} defines no _update")

    def _grad(self, p: Tensor) -> np.ndarray | None:
        """The gradient array of ``p`` (never written to), or None; makes ``p.data`` writable if it is not."""
        g = p.grad
        if g is None:
            return None
        g = g.data if isinstance(g, Tensor) else np.asarray(g)
        if g.shape != p.data.shape or g.dtype != p.data.dtype:
            raise ValueError(f"{type(self).__name__}.step: a gradient of shape {g.shape} and dtype {g.dtype} for a "
                             f"parameter of shape {p.shape} and dtype {p.dtype}; they must match")
        if not p.data.flags.writeable:
            p.data = p.data.copy()
        return g

    # ---- state dicts --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {name: value}}, "param_groups": [{hyperparameters..., "params": [indices]}]}``.

        Parameters are numbered in group order; arrays are copies, so the dict is a snapshot.
        """
        state: dict[int, dict[str, Any]] = {}
        groups = []
        index = 0
        for group in self.param_groups:
            indices = []
            for p in group["params"]:
                if p in self.state:
                    state[index] = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self.state[p].items()}
                indices.append(index)
                index += 1
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": indices})
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore hyperparameters and per-parameter state saved by ``state_dict`` (of an optimiser of the same
        kind over parameters of the same shapes). Checked fully first: a failed load changes nothing."""
        name = type(self).__name__
        if not isinstance(state_dict, Mapping) or set(state_dict) != {"state", "param_groups"}:
            raise ValueError(f"{name}.load_state_dict: expected a dict with keys 'state' and 'param_groups'")
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state has {len(saved_groups)} parameter groups, this "
                             f"optimiser has {len(self.param_groups)}")
        params: list[Tensor] = []
        new_groups = []
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if not isinstance(saved, Mapping) or "params" not in saved:
                raise ValueError(f"{name}.load_state_dict: parameter group {i} is not a dict with 'params'")
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} holds {len(saved['params'])} "
                                 f"parameters in the state, {len(group['params'])} here")
            unknown = set(saved) - set(self.defaults) - {"params", "initial_lr"}
            if unknown:
                raise ValueError(f"{name}.load_state_dict: unknown hyperparameters {sorted(unknown)} in group {i}; "
                                 "was the state saved from another kind of optimiser?")
            new_group = {**group, **{k: v for k, v in saved.items() if k != "params"}, "params": group["params"]}
            self._check_group(new_group)
            new_groups.append(new_group)
            params.extend(group["params"])
        new_state = {}
        for key, entry in dict(state_dict["state"]).items():
            index = int(key) if isinstance(key, (int, np.integer, str)) and str(key).isdigit() else -1
            if not 0 <= index < len(params):
                raise ValueError(f"{name}.load_state_dict: state key {key!r} names no parameter (0..{len(params) - 1})")
            new_state[params[index]] = self._check_entry(index, params[index], entry)
        self.param_groups = new_groups
        self.state = new_state

    def _check_entry(self, index: int, p: Tensor, entry: Any) -> dict[str, Any]:
        name = f"{type(self).__name__}.load_state_dict"
        expected = set(self.state_arrays) | set(self.state_ints)
        if not isinstance(entry, Mapping) or set(entry) != expected:
            keys = sorted(entry) if isinstance(entry, Mapping) else type(entry).__name__
            raise ValueError(f"{name}: state of parameter {index} has {keys}, expected {sorted(expected)}; "
                             "was it saved from another kind of optimiser?")
        out: dict[str, Any] = {}
        for key in self.state_ints:
            out[key] = as_int(name, f"state {key!r} of parameter {index} (a count)", entry[key], low=0)
        for key in self.state_arrays:
            value = entry[key]
            value = value.data if isinstance(value, Tensor) else value
            if not isinstance(value, np.ndarray) or value.shape != p.shape or value.dtype.kind != "f":
                shape = value.shape if isinstance(value, np.ndarray) else type(value).__name__
                raise ValueError(f"{name}: state {key!r} of parameter {index} has shape {shape}, the parameter "
                                 f"has shape {p.shape}")
            out[key] = value.astype(p.dtype, copy=True)
        return out

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params")
        return "\n".join(lines) + "\n)"
