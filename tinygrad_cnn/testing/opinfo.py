"""One entry per op, one call for its whole test battery: ``OpInfo`` and ``op_test_suite``.

An ``OpInfo`` says how to call an op, what it should compute (a NumPy reference), on which inputs (a hypothesis
strategy of ``Sample``), for which dtypes, to which order it is differentiable, which primitive classes it
exercises, which bad inputs it must refuse, and where its derivation is documented. ``op_test_suite(entries)``
turns a list of them into a pytest test class that checks, for every entry:

* ``test_reference``: the float64 forward against the NumPy reference, shapes and dtypes included;
* ``test_float32``: float32 inputs give a float32 result that matches the reference to float32 accuracy;
* ``test_gradcheck`` / ``test_gradgradcheck``: the VJP, and the VJP of the VJP, against float64 central
  differences (``gradcheck`` also asserts that nothing is mutated or aliased and that saved buffers are freed);
* ``test_records_its_primitive``: the result's ``grad_fn`` is the entry's first primitive;
* ``test_inplace_write_after_forward``: writing an input in place between forward and backward is refused with
  a RuntimeError, or (for nodes that declare ``reads_inputs = False``) leaves the gradient bit-for-bit unchanged;
  writing a saved output (``save_output = True``) is refused;
* ``test_bad_input``: every ``BadInput`` raises its exception class with a message naming the op.

Tests that have nothing to check for an entry (no reference, not differentiable...) are not generated for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ..autograd import Function, grad, no_grad
from ..tensor_class import Tensor, concatenate
from .gradcheck import gradcheck, gradgradcheck
from .sample import Sample

__all__ = ["BadInput", "OpInfo", "Sample", "check_op", "op_test_suite"]


@dataclass(frozen=True)
class BadInput:
    """A call the op must refuse: ``call()`` raises ``error`` with a message matching the regex ``match``."""

    call: Callable[[], Any]
    error: type[BaseException] | tuple[type[BaseException], ...]
    match: str
    why: str = ""


@dataclass(frozen=True)
class OpInfo:
    """Everything the generated tests need to know about one public op.

    ``op(*tensors, **kwargs)`` calls it on the tensors and keyword arguments of a ``Sample`` drawn from
    ``samples``; ``ref(*arrays, **kwargs)`` is its NumPy reference (None: no reference test). ``samples`` draws
    float64 inputs inside the op's differentiable domain (away from kinks and ties, inside the value range).
    ``primitives`` lists the ``Function`` classes the entry covers, the first being the node ``op`` returns
    (empty for a composite whose result node varies). ``dtypes`` are the float dtypes it is tested in;
    ``grad_order`` is 0 (not differentiable), 1 or 2. ``doc`` is the derivation page, relative to docs/.
    ``family`` and ``fuzz`` tell the invalid-input fuzzer how to drive the op (see tests/test_fuzz.py).
    """

    name: str
    op: Callable[..., Any]
    samples: st.SearchStrategy
    ref: Callable[..., Any] | None = None
    primitives: tuple[type[Function], ...] = ()
    dtypes: tuple[Any, ...] = (np.float64, np.float32)
    grad_order: int = 2
    doc: str | None = None
    bad_inputs: tuple[BadInput, ...] = ()
    examples: tuple[int, int] = (15, 4)
    gradcheck_tol: dict[str, float] = field(default_factory=dict)
    ref_tol: dict[str, float] = field(default_factory=lambda: {"rtol": 1e-10, "atol": 1e-12})
    float32_tol: dict[str, float] = field(default_factory=lambda: {"rtol": 1e-4, "atol": 1e-5})
    family: str = ""
    fuzz: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.grad_order not in (0, 1, 2):
            raise ValueError(f"OpInfo {self.name!r}: grad_order must be 0, 1 or 2, got {self.grad_order!r}")
        if not isinstance(self.samples, st.SearchStrategy):
            raise TypeError(f"OpInfo {self.name!r}: samples must be a hypothesis strategy of Sample")

    @property
    def short_name(self) -> str:
        """The name an error message must contain: ``F.conv2d`` -> ``conv2d``, ``Tensor.sum`` -> ``sum``."""
        return self.name.split(".")[-1].split(" ")[0]

    def call(self, sample: Sample, tensors: Sequence[Tensor]) -> Any:
        return self.op(*tensors, **sample.kwargs)


def _flat_output(out: Any) -> Tensor:
    """One Tensor for gradcheck: the op's result, or its floating-point results flattened and joined."""
    if isinstance(out, Tensor):
        return out
    parts = [o.reshape(-1) for o in out if isinstance(o, Tensor) and o.dtype.kind == "f"]
    if not parts:
        raise TypeError("the op returned no floating-point Tensor to differentiate")
    return parts[0] if len(parts) == 1 else concatenate(parts)


def _outputs(out: Any) -> list[Any]:
    return [out] if isinstance(out, Tensor) else list(out)


def _run(entry: OpInfo, examples: int, body: Callable[[Sample], None]) -> None:
    """``body`` on ``examples`` samples of the entry, scaled with the hypothesis profile (25 in CI)."""
    scaled = max(examples, settings.default.max_examples * examples // 25)

    @settings(max_examples=scaled)
    @given(entry.samples)
    def check(sample: Sample) -> None:
        body(sample)

    check()


def _close(got: np.ndarray, want: Any, tol: dict[str, float], what: str) -> None:
    want = np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, reference {want.shape}"
    if want.dtype.kind in "biu" or got.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want, err_msg=what)
    else:
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), equal_nan=True, err_msg=what,
                                   **tol)


def _check_reference(entry: OpInfo, sample: Sample) -> None:
    outs = _outputs(entry.call(sample, sample.tensors()))
    wants = entry.ref(*[np.array(a, copy=True) for a in sample.inputs], **sample.kwargs)
    wants = [wants] if not isinstance(wants, (tuple, list)) else list(wants)
    assert len(outs) == len(wants), f"{entry.name}: {len(outs)} results, the reference has {len(wants)}"
    for i, (o, w) in enumerate(zip(outs, wants)):
        _close(o.data, w, entry.ref_tol, f"{entry.name}, result {i}")
        w = np.asarray(w)
        if w.dtype.kind == "f":
            assert o.dtype == np.float64, f"{entry.name}: float64 inputs gave a {o.dtype} result"


def _check_float32(entry: OpInfo, sample: Sample) -> None:
    outs = _outputs(entry.call(sample, sample.tensors(np.float32)))
    wants = _outputs(entry.call(sample, sample.tensors()))
    for i, (o, w) in enumerate(zip(outs, wants)):
        if w.dtype.kind == "f":
            assert o.dtype == np.float32, f"{entry.name}: float32 inputs gave a {o.dtype} result {i}"
            finite = np.abs(w.data[np.isfinite(w.data)])  # an infinite result (max over padding) must match exactly
            scale = float(np.max(finite, initial=1.0))
            tol = {"rtol": entry.float32_tol["rtol"], "atol": entry.float32_tol["atol"] * scale}
            _close(o.data, w.data, tol, f"{entry.name} in float32, result {i}")
        else:
            _close(o.data, w.data, {}, f"{entry.name} in float32, result {i}")


def _fn(entry: OpInfo, sample: Sample) -> Callable[..., Tensor]:
    return lambda *ts: _flat_output(entry.call(sample, ts))


def _check_grad(entry: OpInfo, sample: Sample, order: int) -> None:
    tensors = sample.tensors()
    if not any(t.requires_grad for t in tensors):
        return
    check = gradcheck if order == 1 else gradgradcheck
    assert check(_fn(entry, sample), *tensors, **entry.gradcheck_tol)


def _check_node(entry: OpInfo, sample: Sample) -> None:
    out = _outputs(entry.call(sample, sample.tensors()))[0]
    node = out.grad_fn
    assert node is not None, f"{entry.name}: the result records no node"
    assert type(node) is entry.primitives[0], \
        f"{entry.name}: the result's node is {type(node).__name__}, the entry says {entry.primitives[0].__name__}"


def _vjp(out: Tensor, inputs: list[Tensor]) -> tuple:
    """The VJP of a fixed upstream gradient (no extra op, so only the op's own nodes read anything)."""
    upstream = np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype)
    return grad(out, inputs, grad_outputs=Tensor(upstream), allow_unused=True)


_MODIFIED = re.compile(r"(input \d \(shape .*\) was modified in place|the \.data of input)")


def _check_inplace(entry: OpInfo, sample: Sample) -> None:
    positions = [i for i, wants in enumerate(sample.grads()) if wants]
    if not positions:
        return
    tensors = sample.tensors()
    out = _flat_output(entry.call(sample, tensors))
    wanted = [tensors[i] for i in positions]
    expected = _vjp(out, wanted)
    for position in positions:
        fresh = sample.tensors()
        out = _flat_output(entry.call(sample, fresh))
        node = out.grad_fn
        direct = node is not None and type(node).reads_inputs and any(t is fresh[position] for t in node.inputs)
        with no_grad():
            fresh[position].mul_(1.5)
        try:
            got = _vjp(out, [fresh[i] for i in positions])
        except RuntimeError as err:
            assert _MODIFIED.search(str(err)), f"{entry.name}: unexpected RuntimeError: {err}"
            continue
        assert not direct, (f"{entry.name}: {type(node).__name__} reads its inputs, yet input {position} was written "
                            "in place after the forward pass and backward did not refuse")
        for g, e in zip(got, expected):
            if e is not None:
                assert g is not None and np.array_equal(g.data, e.data, equal_nan=True), (
                    f"{entry.name}: input {position} was written after the forward pass, no node refused, and the "
                    "gradient changed: a node with reads_inputs = False reads input values")
    out = _outputs(entry.call(sample, sample.tensors()))[0]
    if out.grad_fn is not None and type(out.grad_fn).save_output and out.data.flags.writeable:
        with no_grad():
            out.add_(1.0)
        with pytest.raises(RuntimeError, match=r"its output \(shape .*\) was modified in place"):
            _vjp(out, [t for t in out.grad_fn.inputs if t.requires_grad])


def _check_bad_input(entry: OpInfo, case: BadInput) -> None:
    with pytest.raises(case.error, match=case.match) as info:
        case.call()
    message = str(info.value)
    assert entry.short_name.lower() in message.lower(), f"the error does not name {entry.short_name}: {message}"


@dataclass(frozen=True)
class _Check:
    """One generated test: which entries it applies to, how many samples it draws, what it checks on each."""

    name: str
    applies: Callable[[OpInfo], bool]
    examples: Callable[[OpInfo], int]
    check: Callable[[OpInfo, Sample], None]


CHECKS = (
    _Check("test_reference", lambda e: e.ref is not None, lambda e: e.examples[0], _check_reference),
    _Check("test_float32", lambda e: np.float32 in e.dtypes, lambda e: max(3, e.examples[1]), _check_float32),
    _Check("test_gradcheck", lambda e: e.grad_order >= 1, lambda e: e.examples[0],
           lambda e, s: _check_grad(e, s, 1)),
    _Check("test_gradgradcheck", lambda e: e.grad_order >= 2, lambda e: e.examples[1],
           lambda e, s: _check_grad(e, s, 2)),
    _Check("test_records_its_primitive", lambda e: bool(e.primitives) and e.grad_order >= 1, lambda e: 3,
           _check_node),
    _Check("test_inplace_write_after_forward", lambda e: e.grad_order >= 1, lambda e: 3, _check_inplace),
)


def check_op(entry: OpInfo) -> list[str]:
    """Run the whole battery on one entry without pytest (in a script or a notebook); AssertionError (or
    GradcheckError) on the first failure. Returns the names of the checks that ran."""
    ran = []
    for c in CHECKS:
        if c.applies(entry):
            _run(entry, c.examples(entry), lambda sample, c=c: c.check(entry, sample))
            ran.append(c.name)
    for case in entry.bad_inputs:
        _check_bad_input(entry, case)
    if entry.bad_inputs:
        ran.append("test_bad_input")
    return ran


def _parametrize(entries: list[OpInfo]) -> Any:
    return pytest.mark.parametrize("entry", entries, ids=[e.name for e in entries])


def op_test_suite(entries: Sequence[OpInfo]) -> type:
    """A pytest test class holding the whole battery for ``entries``; bind it to a ``Test...`` name in a test
    module (``TestMyOps = op_test_suite([MY_OP])``) and pytest collects it, one test per check and entry."""
    entries = list(entries)
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        raise ValueError(f"op_test_suite: entry names repeat: {sorted(n for n in set(names) if names.count(n) > 1)}")
    methods: dict[str, Any] = {"__doc__": f"Generated tests of {len(entries)} ops: {', '.join(names)}."}
    for c in CHECKS:
        selected = [e for e in entries if c.applies(e)]
        if selected:
            methods[c.name] = _parametrize(selected)(_test_method(c))
    cases = [(e, case) for e in entries for case in e.bad_inputs]
    if cases:
        @pytest.mark.parametrize("entry, case", cases, ids=[f"{e.name}-{i}" for i, (e, _) in enumerate(cases)])
        def test_bad_input(self: Any, entry: OpInfo, case: BadInput) -> None:
            _check_bad_input(entry, case)

        methods["test_bad_input"] = test_bad_input
    return type("OpTestSuite", (), methods)


def _test_method(c: _Check) -> Callable[[Any, OpInfo], None]:
    def test(self: Any, entry: OpInfo) -> None:
        _run(entry, c.examples(entry), lambda sample: c.check(entry, sample))

    test.__name__ = test.__qualname__ = c.name
    test.__doc__ = c.check.__doc__
    return test
