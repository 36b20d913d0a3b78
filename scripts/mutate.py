"""Mutation-test one module of tinygrad_cnn locally with mutmut (not part of CI).

    .venv/bin/python scripts/mutate.py tinygrad_cnn/optim/sgd.py
    .venv/bin/python scripts/mutate.py tinygrad_cnn/ops/pool.py --tests "tests/test_pool.py -k max_pool"
    .venv/bin/python scripts/mutate.py --list            # the modules with a preset test selection

The script copies a snapshot of the repository (the working tree is never touched) into a work folder, writes
there a ``pyproject.toml`` whose ``[tool.mutmut]`` table is the repository's one plus ``only_mutate`` (this
module) and ``pytest_add_cli_args_test_selection`` (the tests that exercise it), runs ``mutmut run`` with one
worker, and writes a report: counts, the kill rate, and the diff of every surviving mutant. Mutants listed in
``scripts/mutation_equivalents.toml`` (matched by module, function and the changed line, not by mutmut's number)
are reported as equivalent with their recorded reason and left out of the rate.

Running it again on the same module resumes: mutmut keeps each verdict in ``<workdir>/mutants`` and re-runs the
mutants of functions whose source changed; when the tests changed, the mutants not killed are tried again (with
fresh statistics of which tests reach what). ``--fresh`` starts over. Needs Python 3.11+ (tomllib) and mutmut 3.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = ROOT / "scripts" / "mutation_equivalents.toml"

#: module (or folder prefix) -> the tests that exercise it; the longest matching prefix wins. mutmut records
#: which of these tests reach each function and runs only those per mutant.
TESTS: dict[str, list[str]] = {
    "tinygrad_cnn/optim/lr_scheduler.py": ["tests/test_schedulers.py", "tests/test_optim.py",
                                           "tests/test_mutation_kills_optim.py"],
    "tinygrad_cnn/optim/": ["tests/test_optim.py", "tests/test_optim_torch.py",
                            "tests/test_mutation_kills_optim.py"],
    "tinygrad_cnn/ops/pool.py": ["tests/test_pool.py", "tests/test_op_table.py", "tests/test_mutation_kills_ops.py"],
    "tinygrad_cnn/ops/conv.py": ["tests/test_conv.py", "tests/test_conv_transpose.py", "tests/test_op_table.py",
                                 "tests/test_mutation_kills_ops.py"],
    "tinygrad_cnn/ops/": ["tests/test_op_table.py", "tests/test_core_elementwise.py", "tests/test_core_reduce.py",
                          "tests/test_core_movement.py", "tests/test_core_linalg.py", "tests/test_indexing_ops.py",
                          "tests/test_linalg_ops.py", "tests/test_pointwise_ops.py", "tests/test_activations.py",
                          "tests/test_softmax_losses.py", "tests/test_normalization.py", "tests/test_batchnorm.py",
                          "tests/test_resample.py", "tests/test_hardening_numerics.py",
                          "tests/test_mutation_kills_ops.py"],
    "tinygrad_cnn/ops/kernels/": ["tests/test_threads.py", "tests/test_conv.py", "tests/test_pool.py",
                                  "tests/test_batchnorm.py", "tests/test_core_reduce.py", "tests/test_core_linalg.py",
                                  "tests/test_hardening_numerics.py", "tests/test_mutation_kills_kernels.py"],
    "tinygrad_cnn/autograd.py": ["tests/test_engine.py", "tests/test_hardening_engine.py",
                                 "tests/test_explorer_data.py", "tests/test_mutation_kills_engine.py"],
    "tinygrad_cnn/serialization.py": ["tests/test_serialization.py", "tests/test_hardening_files.py",
                                      "tests/test_mutation_kills_serialization.py"],
}

IGNORED = shutil.ignore_patterns(".venv", ".git", "mutants", "site", "runs", "bench_results", "__pycache__",
                                 ".pytest_cache", ".hypothesis", ".ruff_cache", "*.egg-info")
NOT_KILLED = {"survived", "no tests", "suspicious", "not checked", "skipped"}
KILLED_CODES = {1, 3, 36}  # mutmut's exit codes for killed (a test failed, pytest errored) and timeout


def tests_for(module: str) -> list[str]:
    """The preset test selection of the longest TESTS prefix matching ``module`` (only files that exist)."""
    keys = [k for k in TESTS if module == k or (k.endswith("/") and module.startswith(k))]
    if not keys:
        raise SystemExit(f"mutate.py: no preset tests for {module}; pass them with --tests tests/test_x.py ...")
    chosen = TESTS[max(keys, key=len)]
    return [t for t in chosen if t.startswith("-") or not t.startswith("tests/") or (ROOT / t.split("::")[0]).exists()]


def toml_value(value: object) -> str:
    """A TOML literal for the plain values a [tool.mutmut] table holds (strings, numbers, booleans, lists)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value + "'" if "'" not in value else '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"mutate.py: cannot write {value!r} into [tool.mutmut]")


def write_pyproject(workdir: Path, module: str, tests: list[str]) -> None:
    """The snapshot's pyproject.toml with [tool.mutmut] narrowed to ``module`` and ``tests``."""
    text = (ROOT / "pyproject.toml").read_text()
    config = dict(tomllib.loads(text).get("tool", {}).get("mutmut", {}))
    config["only_mutate"] = [module]
    config["pytest_add_cli_args_test_selection"] = tests
    # drop the repository's [tool.mutmut] table (up to the next table header) and append the narrowed one
    text = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", text)
    table = "\n".join(f"{key} = {toml_value(val)}" for key, val in config.items())
    (workdir / "pyproject.toml").write_text(text.rstrip() + "\n\n[tool.mutmut]\n" + table + "\n")


def snapshot(workdir: Path, fresh: bool) -> None:
    """Copy the repository into ``workdir`` (keeping ``workdir/mutants`` for resuming unless ``fresh``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    for entry in workdir.iterdir():
        if entry.name == "mutants" and not fresh:
            continue
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    for entry in ROOT.iterdir():
        if IGNORED(str(ROOT), [entry.name]):
            continue
        if entry.is_dir():
            shutil.copytree(entry, workdir / entry.name, ignore=IGNORED)
        else:
            shutil.copy2(entry, workdir / entry.name)


def forget_stale_verdicts(workdir: Path, module: str, tests: list[str]) -> None:
    """When the tests changed since the last run in ``workdir``: drop mutmut's record of which tests reach each
    function (so new tests are seen) and the verdicts of the mutants not killed (so they are tried again). Killed
    mutants keep their verdict; ``--fresh`` re-runs everything."""
    digest = hashlib.sha256(" ".join(tests).encode())
    for path in sorted((ROOT / "tests").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode() + path.read_bytes())
    marker = workdir / "mutants" / "tests.sha256"
    if marker.exists() and marker.read_text() == digest.hexdigest():
        return
    (workdir / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
    meta = workdir / "mutants" / (module + ".meta")
    if meta.exists():
        data = json.loads(meta.read_text())
        codes = data.get("exit_code_by_key", {})
        for name, code in codes.items():
            if code not in KILLED_CODES:
                codes[name] = None
        meta.write_text(json.dumps(data, indent=4))
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(digest.hexdigest())


def load_equivalents(module: str) -> list[dict]:
    if not EQUIVALENTS.exists():
        return []
    entries = tomllib.loads(EQUIVALENTS.read_text()).get("equivalent", [])
    return [e for e in entries if e["module"] == module]


def changed_lines(diff: str) -> tuple[list[str], list[str]]:
    """The removed and added lines of a mutmut diff, stripped."""
    lines = diff.splitlines()
    removed = [ln[1:].strip() for ln in lines if ln.startswith("-") and not ln.startswith("---")]
    added = [ln[1:].strip() for ln in lines if ln.startswith("+") and not ln.startswith("+++")]
    return removed, added


def function_of(mutant: str) -> str:
    """``pkg.mod.xǁClassǁmethod__mutmut_3`` -> ``Class.method``; ``pkg.mod.x_func__mutmut_3`` -> ``func``."""
    name = mutant.rsplit(".", 1)[-1].rsplit("__mutmut_", 1)[0]
    if name.startswith("xǁ"):
        return ".".join(name[2:].split("ǁ"))
    return name[2:]


#: mutants no test can tell apart, recognised by their shape: (test on the removed and added line, reason)
RULES = [
    (lambda old, new: old.startswith("def forward(") and new.startswith("def forward("),
     "a default of a primitive's forward: Function.__init_subclass__ reads the defaults (param_defaults) from the "
     "signature, which mutmut's trampoline keeps as the original's, and apply always passes them; in the real "
     "code a changed default is caught by the op table, not here"),
    (lambda old, new: "reshape(" in old and new.replace("-2", "-1") == old,
     "NumPy's reshape takes any negative size, -2 as -1, as the axis to infer"),
    (lambda old, new: old != new and old.lower() == new.lower() and re.search(r"\.(en|de)code\(", old) is not None,
     "Python looks codec names up case-insensitively: 'ASCII' is 'ascii', 'UTF-8' is 'utf-8'"),
]


def equivalent_reason(mutant: str, diff: str, equivalents: list[dict]) -> str | None:
    removed, added = changed_lines(diff)
    if len(removed) == 1 and len(added) == 1:
        for test, reason in RULES:
            if test(removed[0], added[0]):
                return reason
    for e in equivalents:
        if e["function"] == function_of(mutant) and [e["original"].strip()] == removed \
                and [e["mutated"].strip()] == added:
            return e["reason"]
    return None


#: one thread per BLAS/OpenMP pool: mutmut forks its workers, and a fork taken while another library's thread pool
#: holds a lock hangs at 0% CPU (so mutmut's CPU-time limit never fires); seen on Sum and Expand mutants
SINGLE_THREADED = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def mutmut(workdir: Path, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "mutmut", *args], cwd=workdir, check=False,
                          env={**os.environ, **SINGLE_THREADED})
    if done.returncode:
        raise SystemExit(f"mutate.py: `mutmut {' '.join(args)}` failed (exit {done.returncode}) in {workdir}; "
                         "the tests must pass on the unmutated code first")


#: run inside the work folder: every mutant of the module with its status, and the diff of those not killed
#: (what `mutmut results --all true` and `mutmut show NAME` print, in one process instead of one per mutant)
COLLECT = """
import json, sys
from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code
data = SourceFileMutationData(path=sys.argv[1])
data.load()
out = {}
for name, code in data.exit_code_by_key.items():
    status = status_by_exit_code[code]
    out[name] = [status, "" if status in ("killed", "timeout") else get_diff_for_mutant(name, path=data.path)]
print(json.dumps(out))
"""


def collect(workdir: Path, module: str) -> dict[str, list[str]]:
    done = subprocess.run([sys.executable, "-c", COLLECT, module], cwd=workdir, text=True, capture_output=True,
                          check=True)
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", nargs="?", help="a file under tinygrad_cnn/, e.g. tinygrad_cnn/optim/sgd.py")
    parser.add_argument("--tests", help="the pytest selection, one quoted string: files, node ids, -k EXPR "
                        "(default: the preset for the module)")
    parser.add_argument("--workdir", type=Path, help="where the snapshot and mutmut's state live "
                        "(default: <tmp>/tinygrad-mutation/<module>)")
    parser.add_argument("--fresh", action="store_true", help="forget earlier verdicts for this module")
    parser.add_argument("--report", type=Path, help="write the report here too (markdown)")
    parser.add_argument("--list", action="store_true", help="print the preset test selections and exit")
    args = parser.parse_args(argv)
    if args.list:
        for key, tests in TESTS.items():
            print(f"{key}: {' '.join(tests)}")
        return 0
    if not args.module:
        parser.error("name the module to mutate, e.g. tinygrad_cnn/optim/sgd.py")
    module = Path(args.module).as_posix()
    if not (ROOT / module).is_file() or not module.startswith("tinygrad_cnn/") or not module.endswith(".py"):
        parser.error(f"{module} is not a Python file under tinygrad_cnn/")
    tests = shlex.split(args.tests) if args.tests else tests_for(module)
    slug = module.removesuffix(".py").replace("/", ".")
    workdir = args.workdir or Path(tempfile.gettempdir()) / "tinygrad-mutation" / slug
    start = time.monotonic()
    snapshot(workdir, args.fresh)
    write_pyproject(workdir, module, tests)
    forget_stale_verdicts(workdir, module, tests)
    print(f"mutate.py: {module} against {' '.join(tests)} in {workdir}", flush=True)
    mutmut(workdir, "run", "--max-children", "1")
    elapsed = time.monotonic() - start

    verdicts = collect(workdir, module)
    equivalents = load_equivalents(module)
    survivors, excluded = [], []
    for name, (status, diff) in sorted(verdicts.items()):
        if status in NOT_KILLED:
            reason = equivalent_reason(name, diff, equivalents)
            (excluded if reason else survivors).append((name, status, diff, reason))
    total = len(verdicts)
    counted = total - len(excluded)
    killed = counted - len(survivors)
    rate = 100.0 * killed / counted if counted else 100.0
    lines = [f"# Mutation report: {module}", "",
             f"tests: {' '.join(tests)}", "",
             f"mutants {total}, killed {killed}, survived {len(survivors)}, equivalent (excluded) {len(excluded)}, "
             f"kill rate {rate:.1f}% ({elapsed:.0f} s)", ""]
    for title, group in (("Survivors", survivors), ("Equivalent (excluded)", excluded)):
        if group:
            lines += [f"## {title}", ""]
            for name, status, diff, reason in group:
                lines += [f"### {name} ({status})" + (f": {reason}" if reason else ""), "", "```diff",
                          *[ln for ln in diff.splitlines() if not ln.startswith("#")], "```", ""]
    report = "\n".join(lines)
    (workdir / "mutation_report.md").write_text(report)
    if args.report:
        args.report.write_text(report)
    print(lines[4])
    print(f"mutate.py: report in {args.report or workdir / 'mutation_report.md'}")
    return 0 if not survivors else 1


if __name__ == "__main__":
    sys.exit(main())
