"""The op table's generated battery (see tinygrad_cnn/testing/opinfo.py) plus its census: every primitive class
in tinygrad_cnn/ops has an entry, and every entry has a derivation page that names its primitives."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest
from optable import TABLE

import tinygrad_cnn.ops
from tinygrad_cnn.autograd import Function
from tinygrad_cnn.testing import OpInfo, op_test_suite
from tinygrad_cnn.testing import strategies as S

DOCS = Path(__file__).resolve().parents[1] / "docs"

TestOpTable = op_test_suite(TABLE)


def primitives_in_ops() -> list[type[Function]]:
    """Every public Function subclass defined in a module of tinygrad_cnn.ops (the kernels hold none)."""
    found = []
    for info in pkgutil.walk_packages(tinygrad_cnn.ops.__path__, "tinygrad_cnn.ops."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Function) and cls.__module__ == module.__name__ and not cls.__name__.startswith("_"):
                found.append(cls)
    return found


def test_every_primitive_has_an_entry_whose_result_it_records():
    """Each primitive is the node of some entry's result (its first primitive, which test_records_its_primitive
    checks), so the generated in-place test asserts its ``reads_inputs`` / ``save_output`` promises directly."""
    recorded = {entry.primitives[0] for entry in TABLE if entry.primitives and entry.grad_order >= 1}
    missing = sorted(cls.__name__ for cls in primitives_in_ops() if cls not in recorded)
    assert not missing, f"add an OpInfo entry to tests/optable/ whose result these primitives record: {missing}"


def test_the_census_sees_the_primitives():
    names = {cls.__name__ for cls in primitives_in_ops()}
    assert {"Add", "Softplus", "Sum", "Reshape", "MatMul", "Conv2d", "MaxPool2d", "LogSoftmax"} <= names


@pytest.mark.parametrize("entry", TABLE, ids=[e.name for e in TABLE])
def test_every_entry_has_a_derivation_that_names_its_primitives(entry: OpInfo):
    assert entry.doc, f"{entry.name}: give the entry a doc= derivation page"
    page = DOCS / entry.doc.split("#")[0]
    assert page.is_file(), f"{entry.name}: {entry.doc} is not a page under docs/"
    text = page.read_text()
    for cls in entry.primitives:
        assert re.search(rf"`{cls.__name__}\b", text), f"{entry.name}: {entry.doc} does not mention `{cls.__name__}`"


def test_entry_names_are_unique_and_the_suite_refuses_repeats():
    names = [e.name for e in TABLE]
    assert len(names) == len(set(names))
    with pytest.raises(ValueError, match="repeat"):
        op_test_suite([TABLE[0], TABLE[0]])


def test_a_wrong_vjp_fails_the_generated_battery():
    """The battery is not vacuous: an op whose VJP is 1% off fails its generated gradcheck."""

    class Off(Function):
        def forward(ctx, a):
            return np.sin(a)

        def vjp(ctx, g):
            return g * ctx.inputs[0].exp() * 0 + g * ctx.constant(np.cos(ctx.inputs[0].data)) * 1.01

    entry = OpInfo("off", Off.apply, S.unary_samples(), ref=np.sin, primitives=(Off,), grad_order=1)
    suite = op_test_suite([entry])()
    suite.test_reference(entry)
    with pytest.raises(AssertionError, match="gradcheck"):
        suite.test_gradcheck(entry)
