"""docs/coming_from_pytorch.md lists every PyTorch name the package supports, and every name it lists exists."""

import inspect
import re
from pathlib import Path

import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import optim
from tinygrad_cnn.data import datasets, transforms
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.optim import lr_scheduler

PAGE = Path(__file__).resolve().parents[1] / "docs" / "coming_from_pytorch.md"
TEXT = PAGE.read_text(encoding="utf-8")
CODE = set(re.findall(r"`([^`\n]+)`", TEXT))
PREFIXES = {"tg.": tg, "nn.": tg.nn, "F.": F, "optim.": optim, "lr_scheduler.": lr_scheduler}
PROJECT_ONLY = {  # public names with no PyTorch counterpart to list (errors are on the debugging page)
    tg: {"ALLOCATOR_TUNED", "tune_allocator", "CheckpointError", "DivisionByZeroError", "TensorIndexError", "Tensor",
         "ShapeError", "Function"},
    tg.nn: {"LoadResult", "RemovableHandle"},
    F: {"as_int", "as_pair", "as_real", "as_single", "as_tensor", "check_image_batch", "inplace_result", "spelling"},
}


def public(module, names=None):
    names = getattr(module, "__all__", None) if names is None else names
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    skip = PROJECT_ONLY.get(module, set())
    return sorted(n for n in names if n not in skip and not inspect.ismodule(getattr(module, n)))


def listed(name: str, prefix: str = "") -> bool:
    """`prefix+name`, `name`, or `name(...)` appears in code on the page."""
    return any(code in (prefix + name, name) or code.startswith((prefix + name + "(", name + "(")) for code in CODE)


def functions_of_f():
    return [n for n in dir(F) if not n.startswith("_") and n[0].islower() and callable(getattr(F, n))
            and getattr(getattr(F, n), "__module__", "").startswith("tinygrad_cnn")]


CATALOGUE = [
    ("tg.", tg, public(tg, [n for n in dir(tg) if not n.startswith("_")])),
    ("nn.", tg.nn, [n for n in public(tg.nn) if n[0].isupper()]),
    ("F.", F, public(F, functions_of_f())),
    ("nn.init.", tg.nn.init, public(tg.nn.init)),
    ("nn.utils.", tg.nn.utils, public(tg.nn.utils)),
    ("optim.", optim, public(optim, [n for n in dir(optim) if n[0].isupper()])),
    ("lr_scheduler.", lr_scheduler, [n for n in dir(lr_scheduler) if n[0].isupper()
                                     and getattr(lr_scheduler, n).__module__ == lr_scheduler.__name__]),
    ("tg.utils.data.", tg.utils.data, public(tg.utils.data)),
    ("transforms.", transforms, public(transforms)),
    ("datasets.", datasets, public(datasets)),
]


@pytest.mark.parametrize("prefix, module, names", CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_every_public_name_is_on_the_page(prefix, module, names):
    assert names, f"found no public names in {module.__name__}: the catalogue is broken"
    missing = [n for n in names if not listed(n, prefix)]
    assert not missing, f"docs/coming_from_pytorch.md does not list {missing} of {module.__name__}"


def test_every_listed_name_exists():
    checked = 0
    for code in sorted(CODE):
        for prefix, module in PREFIXES.items():
            if code.startswith(prefix) and re.fullmatch(r"[\w.]+\w", code) and len(code) > len(prefix):
                target = module
                for part in code[len(prefix):].split("."):
                    assert hasattr(target, part), f"the page lists `{code}`, which does not exist"
                    target = getattr(target, part)
                checked += 1
    assert checked > 300, f"only {checked} names checked: the extraction is broken"
