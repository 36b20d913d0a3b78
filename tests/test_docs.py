"""Every ```python block in README.md and docs/ runs: the docs never drift from the code.

Blocks of one page run in order in one namespace, in a temporary working directory; a block that reads a name an
earlier block defined says so in its first line (``# continues the block above``). The API reference is split into
pages that keep every documented module, and each family of primitives links to its derivation page.
"""

import ast
import builtins
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: str(p.relative_to(ROOT)))
def test_page_snippets_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    for number, block in enumerate(python_blocks(page), 1):
        try:
            exec(compile(block, f"{page.name} block {number}", "exec"), namespace)
        except Exception as err:  # the page and block number make the failure findable
            raise AssertionError(f"{page.relative_to(ROOT)}, python block {number} failed: {err!r}") from err


def test_pages_have_snippets_checked():
    assert any(python_blocks(p) for p in PAGES), "no python blocks found: the extraction pattern is broken"


# --- a block that needs an earlier block says so ------------------------------------------------------------------

CONTINUES = re.compile(r"#\s*continues\b")  # "# continues the block above", '# continues from "Training"'
NAMED_SECTION = re.compile(r'#\s*continues from "([^"]+)"')
HEADING = re.compile(r"^#{1,6} +(.+?) *$", re.M)
BUILTIN_NAMES = frozenset(dir(builtins)) | {"__name__", "__file__"}


def bound_and_free(block: str) -> tuple[set[str], set[str]]:
    """The names ``block`` binds anywhere (assignments, imports, defs, parameters, except/for/with targets) and the
    names it reads that it never binds and that are not builtins."""
    bound, read = set(), set()
    for node in ast.walk(ast.parse(block)):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound, read - bound - BUILTIN_NAMES


def continuation_problems(blocks: list[str], headings: tuple[str, ...] = ()) -> list[str]:
    """Blocks that read a name only an earlier block defines without a first line ``# continues ...``, blocks
    whose first line says they continue but that read nothing of the earlier blocks, and a ``# continues from
    "<section>"`` that names no heading of ``headings``."""
    problems, earlier = [], set()
    for number, block in enumerate(blocks, 1):
        bound, free = bound_and_free(block)
        used = sorted(free & earlier)
        first = block.lstrip().partition("\n")[0]
        marked = bool(CONTINUES.match(first))
        named = NAMED_SECTION.match(first)
        if named and named.group(1) not in headings:
            problems.append(f"python block {number} continues from {named.group(1)!r}, which is no heading of the "
                            f"page (headings: {list(headings)})")
        if used and not marked:
            problems.append(f"python block {number} uses {', '.join(used)} from an earlier block: start it with a "
                            f"comment '# continues the block above' (or '# continues from \"<section>\"')")
        elif marked and not used:
            problems.append(f"python block {number} says it continues but reads no name of an earlier block")
        earlier |= bound
    return problems


def test_continuation_check_flags_an_unmarked_continuation_and_a_false_mark():
    assert continuation_problems(["import numpy as np\nx = np.ones(2)", "print(x.sum())"]) != []
    assert continuation_problems(["x = 1", "# continues the block above\nprint(x)"]) == []
    assert continuation_problems(["x = 1", "# continues the block above\ny = 2\nprint(y)"]) != []
    # a name the block binds itself (parameter, loop target, import, except name) is not a continuation
    assert continuation_problems(["x = 1", "def f(x):\n    return x\nfor x in range(2):\n    pass"]) == []
    assert continuation_problems(["err = 1", "try:\n    pass\nexcept ValueError as err:\n    print(err)"]) == []
    named = ["x = 1", '# continues from "Setup"\nprint(x)']
    assert continuation_problems(named, ("Setup",)) == [] and continuation_problems(named, ("Other",)) != []


@pytest.mark.parametrize("page", [p for p in PAGES if len(python_blocks(p)) > 1],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_blocks_that_continue_an_earlier_block_say_so(page):
    headings = tuple(HEADING.findall(BLOCK.sub("", page.read_text(encoding="utf-8"))))
    problems = continuation_problems(python_blocks(page), headings)
    assert not problems, f"{page.relative_to(ROOT)}: " + "; ".join(problems)


# --- the API reference: split into pages, nothing lost, each primitive family linked to its derivation ------------

API = ROOT / "docs" / "api"
DIRECTIVE = re.compile(r"^::: *([\w.]+)", re.M)
#: the ``:::`` targets of the one-page API reference before it was split (docs/api/index.md at the commit before)
FORMER_API_TARGETS = (
    "tinygrad_cnn.tensor_class.Tensor", "tinygrad_cnn.tensor_core.TensorCore", "tinygrad_cnn.errors",
    "tinygrad_cnn.autograd.Function", "tinygrad_cnn.autograd.grad", "tinygrad_cnn.autograd.no_grad",
    "tinygrad_cnn.autograd.enable_grad", "tinygrad_cnn.autograd.detect_anomaly",
    "tinygrad_cnn.inplace.InPlaceMethods", "tinygrad_cnn.methods.pointwise", "tinygrad_cnn.methods.linear_algebra",
    "tinygrad_cnn.methods.indexing", "tinygrad_cnn.versions", "tinygrad_cnn.factories", "tinygrad_cnn.random",
    "tinygrad_cnn.ops.elementwise", "tinygrad_cnn.ops.activation", "tinygrad_cnn.ops.reduce",
    "tinygrad_cnn.ops.scan", "tinygrad_cnn.ops.sort", "tinygrad_cnn.ops.movement", "tinygrad_cnn.ops.indexing",
    "tinygrad_cnn.ops.linalg", "tinygrad_cnn.ops.conv", "tinygrad_cnn.ops.pool", "tinygrad_cnn.ops.resample",
    "tinygrad_cnn.ops.padding", "tinygrad_cnn.ops.softmax", "tinygrad_cnn.ops.batchnorm",
    "tinygrad_cnn.ops.normalization", "tinygrad_cnn.ops.kernels", "tinygrad_cnn.ops.kernels.columns",
    "tinygrad_cnn.ops.kernels.gemm", "tinygrad_cnn.ops.kernels.windows", "tinygrad_cnn.nn.functional",
    "tinygrad_cnn.nn.pooling", "tinygrad_cnn.nn.activations", "tinygrad_cnn.nn.losses",
    "tinygrad_cnn.nn.losses_layers", "tinygrad_cnn.nn.module", "tinygrad_cnn.nn.containers",
    "tinygrad_cnn.nn.layers", "tinygrad_cnn.nn.layer_ops", "tinygrad_cnn.nn.batchnorm",
    "tinygrad_cnn.nn.normalization", "tinygrad_cnn.nn.init", "tinygrad_cnn.optim",
    "tinygrad_cnn.optim.lr_scheduler", "tinygrad_cnn.nn.utils", "tinygrad_cnn.serialization", "tinygrad_cnn.data",
    "tinygrad_cnn.data.dataset", "tinygrad_cnn.data.sampler", "tinygrad_cnn.data.loader",
    "tinygrad_cnn.data.collate", "tinygrad_cnn.data.transforms", "tinygrad_cnn.data.vision", "tinygrad_cnn.models",
    "tinygrad_cnn.onnx.exporter", "tinygrad_cnn.onnx.converters.register", "tinygrad_cnn.onnx.converters.coverage",
    "tinygrad_cnn.interop", "tinygrad_cnn.utils.dlpack", "tinygrad_cnn.viz", "tinygrad_cnn.testing.gradcheck",
    "tinygrad_cnn.testing.strategies", "tinygrad_cnn.testing.opinfo", "tinygrad_cnn.testing.sample",
)


def api_targets() -> dict[str, list[str]]:
    """``{page name: its ::: targets in order}`` for every page of docs/api."""
    return {page.name: DIRECTIVE.findall(page.read_text(encoding="utf-8")) for page in sorted(API.glob("*.md"))}


def test_api_reference_is_split_and_keeps_every_former_target_once():
    pages = api_targets()
    everywhere = [target for targets in pages.values() for target in targets]
    missing = sorted(set(FORMER_API_TARGETS) - set(everywhere))
    assert not missing, f"these ::: targets of the former API page are on no docs/api page: {missing}"
    doubled = sorted({t for t in everywhere if everywhere.count(t) > 1})
    assert not doubled, f"::: targets rendered twice (duplicate anchors): {doubled}"
    assert len([name for name, targets in pages.items() if targets]) >= 6, "the API reference is not split"
    overview = (API / "index.md").read_text(encoding="utf-8")
    assert not pages["index.md"], "docs/api/index.md is the overview: its ::: directives belong on the api pages"
    unlinked = [name for name, targets in pages.items() if targets and f"]({name})" not in overview]
    assert not unlinked, f"docs/api/index.md does not link {unlinked}"


def test_every_module_of_ops_is_on_an_api_page():
    import tinygrad_cnn.ops as ops

    modules = {info.name for info in pkgutil.walk_packages(ops.__path__, "tinygrad_cnn.ops.")
               if not info.name.rpartition(".")[2].startswith("_")}
    documented = {target for targets in api_targets().values() for target in targets}
    assert modules >= {"tinygrad_cnn.ops.conv", "tinygrad_cnn.ops.kernels.gemm"}, "the module walk found too little"
    assert not modules - documented, f"modules of tinygrad_cnn.ops on no docs/api page: {sorted(modules - documented)}"


def primitive_pages(module: str) -> set[str]:
    """The derivation pages (``derivations/conv2d.md``) of the primitives defined in ``module``, from the map the
    graph explorer uses (``viz.record.derivation_page``)."""
    from tinygrad_cnn.autograd import Function
    from tinygrad_cnn.viz import record

    mod = importlib.import_module(module)
    classes = [c for c in vars(mod).values()
               if inspect.isclass(c) and issubclass(c, Function) and c.__module__ == module]
    return {record.derivation_page(c).rstrip("/") + ".md" for c in classes}


@pytest.mark.parametrize("name", ["primitives.md", "layer_primitives.md"])
def test_every_primitive_family_links_its_derivation_pages(name):
    text = (API / name).read_text(encoding="utf-8")
    checked = 0
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        targets = [t for t in DIRECTIVE.findall(section) if t.startswith("tinygrad_cnn.ops.")
                   and not t.startswith("tinygrad_cnn.ops.kernels")]
        if not targets:
            continue
        line = re.search(r"^Derivation: (.*?)(?:\n\n|\Z)", section, re.S | re.M)
        assert line, f"docs/api/{name} section {section.splitlines()[0]!r} has no 'Derivation:' line"
        linked = set(re.findall(r"\]\(\.\./(derivations/\w+\.md)\)", line.group(1)))
        for page in linked:
            assert (ROOT / "docs" / page).is_file(), f"docs/api/{name} links a missing page {page}"
        for target in targets:
            wanted = primitive_pages(target)
            assert wanted <= linked, f"{target}: its primitives derive on {sorted(wanted - linked)}, not linked"
            checked += len(wanted)
    assert checked >= 6, f"the derivation links of docs/api/{name} were not checked"
