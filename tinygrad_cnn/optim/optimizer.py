"""``Optimizer``: parameter groups, per-parameter state, ``zero_grad``, ``step`` and state dicts.

Two public ways to write an optimiser (see docs/optim.md):

* the PyTorch way: subclass ``Optimizer``, call ``super().__init__(params, defaults)`` and override
  ``step(self, closure=None)``: loop over ``self.param_groups`` and ``group["params"]``, read ``p.grad``, keep
  per-parameter state in ``self.state[p]`` (a ``defaultdict(dict)``) and update ``p`` with in-place Tensor methods
  (``p.add_(p.grad, alpha=-lr)``) under ``no_grad()``;
* the array way, as the built-in optimisers do it: override ``update_group(group)`` and update ``p.data`` with
  in-place NumPy (then call ``versions.mark_modified(p.data)``); the base ``step`` runs the closure, then calls
  ``update_group`` for every group. ``grad_array(p)`` gives the gradient as an array (or None).
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar

import numpy as np

from .._checks import as_bool, as_int, as_real
from ..autograd import enable_grad, no_grad
from ..tensor_class import Tensor
from ..versions import mark_modified

#: keys the learning-rate schedulers add to param groups (``initial_lr`` and OneCycleLR's), accepted beside the
#: optimiser's own hyperparameters
SCHEDULER_KEYS = frozenset({"initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"})
_FROM_GROUP: Any = object()  # real()'s default: read the value from the group


class Optimizer:
    """Base class. ``params``: an iterable of tensors, or of dicts ``{"params": [...], "lr": ..., ...}`` (parameter
    groups, each overriding the defaults). ``defaults``: the hyperparameters every group gets unless it sets its own.

    Subclasses either override ``step(closure=None)`` (PyTorch's way) or ``update_group(group)`` (array level).
    ``state_kinds`` (optional) names the per-parameter state entries and their kinds (``"array"`` shaped like the
    parameter, ``"int"``, ``"float"``), so ``load_state_dict`` can check a state; without it any state loads.
    """

    #: per-parameter state entries: name -> "array" | "int" | "float" (empty: not checked)
    state_kinds: ClassVar[dict[str, str]] = {}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        if isinstance(params, (Tensor, dict)):
            raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts (e.g. model.parameters()), "
                            f"got a single {type(params).__name__}")
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
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
    def add_param_group(self, param_group: Mapping[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (missing ones come from the defaults)."""
        name = type(self).__name__
        if not isinstance(param_group, Mapping) or "params" not in param_group:
            raise TypeError(f"{name}: a param group must be a dict with a 'params' key")
        params = param_group["params"]
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
        unknown = set(param_group) - set(self.defaults) - {"params"} - SCHEDULER_KEYS
        if unknown:
            raise ValueError(f"{name}: unknown hyperparameters {sorted(unknown)} in a param group; "
                             f"known ones are {sorted(self.defaults)}")
        full = {**self.defaults, **{k: v for k, v in param_group.items() if k != "params"}, "params": params}
        self.validate_group(full)
        self.param_groups.append(full)
        self.init_group_state(full)

    def validate_group(self, group: dict[str, Any]) -> None:
        """Check a group's hyperparameters (ValueError/TypeError naming the optimiser) and normalise them in place
        (Python floats and bools). Called by ``add_param_group`` and ``load_state_dict``; extend it with
        ``super().validate_group(group)`` for new hyperparameters. The base checks ``lr`` when there is one."""
        if "lr" in group:
            group["lr"] = self.real(group, "lr", "learning rate")

    def init_group_state(self, group: dict[str, Any]) -> None:
        """Hook run when a group is added: state created eagerly (Adagrad's accumulator). Nothing by default."""

    # ---- helpers for validate_group ----------------------------------------------------------------
    def real(self, group: dict[str, Any], key: str, what: str | None = None, low: float = 0.0,
             high: float | None = None, high_inclusive: bool = True, value: Any = _FROM_GROUP) -> float:
        """``group[key]`` (or ``value``) as a finite float in [low, high] (``[low, high)`` unless
        ``high_inclusive``): TypeError for a value of the wrong kind, ValueError in PyTorch's words
        ("Invalid learning rate: -1") plus the valid range."""
        name = type(self).__name__
        what = what or f"{key} value"
        v = as_real(name, f"{what} {key}" if what == "learning rate" else key,
                    group[key] if value is _FROM_GROUP else value, finite=True)
        inside = v >= low and (high is None or (v <= high if high_inclusive else v < high))
        if not inside:
            bound = f">= {low}" if high is None else f"in [{low}, {high}{']' if high_inclusive else ')'}"
            shown = str(int(v)) if v.is_integer() and abs(v) < 1e16 else repr(v)
            raise ValueError(f"{name}: Invalid {what}: {shown}; {key} must be {bound}")
        return v

    def flag(self, group: dict[str, Any], key: str) -> bool:
        """``group[key]`` as a bool (TypeError naming the optimiser unless it is True or False)."""
        return as_bool(type(self).__name__, key, group[key])

    def betas(self, group: dict[str, Any]) -> tuple[float, float]:
        """``group["betas"]`` as a pair of floats, each in [0, 1)."""
        name = type(self).__name__
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)):
            raise TypeError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        if len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {len(betas)} values: {betas!r}")
        return tuple(self.real(group, f"beta{i + 1}", f"beta parameter at index {i}", 0.0, 1.0, False, value=b)
                     for i, b in enumerate(betas))

    # ---- the update ---------------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient: ``p.grad = None`` (the default, as PyTorch), or with
        ``set_to_none=False`` zeros in the gradient's memory (a fresh zero tensor if that memory is shared)."""
        set_to_none = as_bool(f"{type(self).__name__}.zero_grad", "set_to_none", set_to_none)
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if set_to_none or g is None:
                    p.grad = None
                elif isinstance(g, Tensor) and g.data.flags.writeable and g.data.flags.owndata:
                    g.data.fill(0)
                    mark_modified(g.data)
                else:
                    p.grad = Tensor(np.zeros_like(p.data))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient. ``closure`` (optional) recomputes and returns the
        loss first, with gradients enabled. The base version calls ``update_group`` for each group under
        ``no_grad``; override ``step`` itself to write an optimiser PyTorch's way."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self.update_group(group)
        return loss

    def update_group(self, group: dict[str, Any]) -> None:
        """Update the parameters of one group in place (array level: in-place NumPy on ``p.data``, skipping
        parameters whose ``grad`` is None, never writing ``p.grad``). Override this or ``step``."""
        raise NotImplementedError(f"{type(self).__name__} overrides neither step(closure) nor update_group(group); "
                                  "an optimiser must define one of them")

    def grad_array(self, p: Tensor) -> np.ndarray | None:
        """The gradient array of ``p`` (never to be written), or None; makes ``p.data`` writable if it is not.
        ValueError if the gradient's shape or dtype is not the parameter's."""
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

    def prepared_grads(self, group: dict[str, Any], count_steps: bool = True,
                       ) -> Iterator[tuple[Tensor, np.ndarray, int]]:
        r"""For each parameter of ``group`` that has a gradient: ``(p, g, step)``, the gradient array made
        ready for the update rule every built-in optimiser shares. With ``maximize`` it is $-g$; with
        ``weight_decay`` $\lambda$ it is $g + \lambda p$ (L2), or, when the group has ``decoupled_weight_decay``,
        $p$ itself is scaled by $1 - \eta\lambda$ first and $g$ is left alone. ``step`` is ``self.state[p]["step"]``
        after incrementing it (0, and not stored, when ``count_steps`` is False)."""
        lr, weight_decay = group["lr"], group.get("weight_decay", 0.0)
        for p in group["params"]:
            g = self.grad_array(p)
            if g is None:
                continue
            if group.get("maximize", False):
                g = -g
            step = 0
            if count_steps:
                state = self.state[p]
                state["step"] = step = state.get("step", 0) + 1
            if weight_decay != 0:
                if group.get("decoupled_weight_decay", False):
                    p.data *= 1 - lr * weight_decay
                else:
                    g = g + weight_decay * p.data
            yield p, g, step

    def array_state(self, p: Tensor, key: str, fill: float = 0.0) -> np.ndarray:
        """``self.state[p][key]``, created as an array like ``p`` filled with ``fill`` when missing."""
        state = self.state[p]
        value = state.get(key)
        if value is None:
            value = state[key] = np.full_like(p.data, fill)
        return value

    # ---- state dicts --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {name: value}}, "param_groups": [{hyperparameters..., "params": [indices]}]}``.

        Parameters are numbered in group order; arrays and tensors are copies, so the dict is a snapshot (and
        ``tg.save`` writes it).
        """
        state: dict[int, dict[str, Any]] = {}
        groups = []
        index = 0
        for group in self.param_groups:
            indices = []
            for p in group["params"]:
                if self.state.get(p):
                    state[index] = {k: _snapshot(v) for k, v in self.state[p].items()}
                indices.append(index)
                index += 1
            groups.append({**{k: copy.deepcopy(v) for k, v in group.items() if k != "params"}, "params": indices})
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
            unknown = set(saved) - set(self.defaults) - {"params"} - SCHEDULER_KEYS
            if unknown:
                raise ValueError(f"{name}.load_state_dict: unknown hyperparameters {sorted(unknown)} in group {i}; "
                                 "was the state saved from another kind of optimiser?")
            new_group = {**group, **{k: copy.deepcopy(v) for k, v in saved.items() if k != "params"},
                         "params": group["params"]}
            if isinstance(new_group.get("betas"), list):  # a list after a JSON round trip
                new_group["betas"] = tuple(new_group["betas"])
            self.validate_group(new_group)
            new_groups.append(new_group)
            params.extend(group["params"])
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, entry in dict(state_dict["state"]).items():
            index = int(key) if isinstance(key, (int, np.integer, str)) and str(key).isdigit() else -1
            if not 0 <= index < len(params):
                raise ValueError(f"{name}.load_state_dict: state key {key!r} names no parameter (0..{len(params) - 1})")
            new_state[params[index]] = self._check_entry(index, params[index], entry)
        self.param_groups = new_groups
        self.state = new_state

    def _check_entry(self, index: int, p: Tensor, entry: Any) -> dict[str, Any]:
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{name}: state of parameter {index} is a {type(entry).__name__}, not a dict")
        if not self.state_kinds:
            return {k: _snapshot(v) for k, v in entry.items()}
        unknown = set(entry) - set(self.state_kinds)
        if unknown:
            raise ValueError(f"{name}: state of parameter {index} has {sorted(entry)}, expected some of "
                             f"{sorted(self.state_kinds)}; was it saved from another kind of optimiser?")
        out: dict[str, Any] = {}
        for key, value in entry.items():
            kind = self.state_kinds[key]
            value = value.data if isinstance(value, Tensor) else value
            if kind == "int":
                value = value[()] if isinstance(value, np.ndarray) and value.ndim == 0 else value
                out[key] = as_int(name, f"state {key!r} of parameter {index} (a count)", value, low=0)
            elif kind == "float":
                value = value[()] if isinstance(value, np.ndarray) and value.ndim == 0 else value
                out[key] = as_real(name, f"state {key!r} of parameter {index}", value, finite=True)
            else:
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


def _snapshot(value: Any) -> Any:
    """A copy of a state value: arrays and tensors get their own memory, other values are deep-copied."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, Tensor):
        return Tensor(value.data.copy())
    return copy.deepcopy(value)


def lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """``start += weight * (end - start)`` in place, in PyTorch's two-branch form, exact at both ends."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        np.subtract(end, (end - start) * (1 - weight), out=start)

