"""The package's imports flow one way: no import cycle between its modules (not even through an import inside a
function), and the lower layers never reach up (see ../shared/DESIGN.md: the Tensor's core below the engine, the
engine below the primitives, the operator sugar above them)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tinygrad_cnn"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imports_of(name: str) -> list[tuple[str, int, bool]]:
    """(imported package module, line, inside a function) for every import statement of module ``name``."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue  # annotations only: never executed
            local = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, in_function) for a in child.names if a.name in MODULES)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.rsplit(".", child.level - 1)[0] if child.level > 1 else package
                    target = f"{base}.{child.module}" if child.module else base
                else:
                    target = child.module or ""
                for alias in child.names:
                    sub = f"{target}.{alias.name}"
                    if sub in MODULES:
                        found.append((sub, child.lineno, in_function))
                    elif target in MODULES:
                        found.append((target, child.lineno, in_function))
            visit(child, local)

    visit(ast.parse(path.read_text(), str(path)), False)
    return found


GRAPH = {name: sorted({t for t, _, _ in imports_of(name) if t != name}) for name in MODULES}


def test_there_is_no_import_cycle():
    """Depth-first search for a back edge; the error shows the cycle."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for target in GRAPH[name]:
            if state.get(target) == 1:
                cycle = stack[stack.index(target):] + [target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[name] = 2

    for name in MODULES:
        if name not in state:
            visit(name)


def test_no_function_local_import_of_the_package():
    local = [f"{name}:{line} imports {target}" for name in MODULES for target, line, inside in imports_of(name)
             if inside]
    assert not local, f"imports inside functions (move them to the top of the module): {local}"


@pytest.mark.parametrize("low, high", [
    ("tinygrad_cnn._checks", "tinygrad_cnn.tensor_core"),
    ("tinygrad_cnn._files", "tinygrad_cnn._checks"),
    ("tinygrad_cnn.versions", "tinygrad_cnn.autograd"),
    ("tinygrad_cnn.tensor_core", "tinygrad_cnn.autograd"),
    ("tinygrad_cnn.autograd", "tinygrad_cnn.ops.elementwise"),
    ("tinygrad_cnn.ops.kernels.columns", "tinygrad_cnn.ops.conv"),
    ("tinygrad_cnn.ops.conv", "tinygrad_cnn.tensor_class"),
    ("tinygrad_cnn.ops.elementwise", "tinygrad_cnn.tensor_class"),
    ("tinygrad_cnn.tensor_class", "tinygrad_cnn.nn.functional"),
    ("tinygrad_cnn.models", "tinygrad_cnn.onnx.exporter"),  # the exporter sits at the top, beside viz and models
])
def test_lower_layers_do_not_reach_up(low, high):
    """Nothing that ``low`` imports, directly or not, is ``high``."""
    seen, todo = set(), [low]
    while todo:
        name = todo.pop()
        for target in GRAPH[name]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    assert high not in seen, f"{low} reaches up to {high}"


def test_the_scan_sees_imports():
    assert "tinygrad_cnn.autograd" in GRAPH["tinygrad_cnn.tensor_class"]
    assert "tinygrad_cnn.tensor_core" in GRAPH["tinygrad_cnn.autograd"]
    assert "tinygrad_cnn.ops.elementwise" in GRAPH["tinygrad_cnn.tensor_class"]
