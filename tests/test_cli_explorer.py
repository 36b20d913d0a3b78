"""The explorer from the command line: ``graph -o x.html`` writes it, and ``train`` writes graph.html beside
graph.svg in its run folder, with the other files, all or nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tinygrad_cnn import cli
from tinygrad_cnn.models import create_model

DATA = re.compile(r'<script type="application/json" id="explorer-data">(.*?)</script>', re.S)
OPTIONS = re.compile(r'<script type="application/json" id="explorer-options">(.*?)</script>', re.S)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def embedded(path: Path) -> tuple[dict, dict]:
    """The data and the options a written explorer page carries."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and not re.search(r"""(src|href)=["']https?:""", text)
    return json.loads(DATA.search(text).group(1)), json.loads(OPTIONS.search(text).group(1))


@pytest.mark.parametrize(("model", "params"), [("seed", 6), ("lenet5", 10)])
def test_graph_with_an_html_name_writes_the_explorer(model, params, tmp_path, capsys):
    """The page of the model's backward pass, every parameter by name; no DOT text or picture beside it."""
    target = tmp_path / "nested" / f"{model}.html"
    code, out, err = run(capsys, "graph", "--model", model, "-o", str(target))
    assert code == 0 and err == "" and f"explorer written to {target}" in out
    data, options = embedded(target)
    assert options["direction"] == "backward"
    named = {n["name"] for n in data["forward"]["nodes"] if n["kind"] == "param"}
    assert named == {name for name, _ in create_model(model).named_parameters()} and len(named) == params
    accumulates = [n for n in data["backward"]["nodes"] if n["kind"] == "accumulate"]
    assert len(accumulates) == params and len(data["steps"]) == len(data["backward"]["nodes"]) - 1
    assert not target.with_suffix(".dot").exists() and not target.with_suffix(".svg").exists()


def test_graph_html_opens_on_the_direction_asked_for(tmp_path, capsys):
    target = tmp_path / "forward.html"
    code, _, _ = run(capsys, "graph", "--model", "seed", "--direction", "forward", "--batch-size", "3",
                     "-o", str(target))
    data, options = embedded(target)
    assert code == 0 and options["direction"] == "forward"
    inputs = [n for n in data["forward"]["nodes"] if n["kind"] == "input"]
    assert [n["shape"] for n in inputs] == [[3, 1, 28, 28]]


def test_graph_with_an_unknown_suffix_names_html_among_the_choices(tmp_path, capsys):
    code, _, err = run(capsys, "graph", "-o", str(tmp_path / "g.htm"))
    assert code == 2 and ".html" in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "g.htm").exists()


def test_graph_html_below_a_file_is_a_one_line_usage_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(capsys, "graph", "-o", str(blocker / "g.html"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "g.html" in err, err


def test_train_writes_graph_html_beside_graph_svg(tmp_path, capsys):
    out = tmp_path / "run"
    code, printed, _ = run(capsys, "train", "--model", "seed", "--dataset", "digits", "--epochs", "1", "--limit",
                           "100", "--quiet", "--out", str(out))
    assert code == 0 and "graph.html" in printed
    assert (out / "graph.dot").exists() and (out / "graph.html").exists()
    data, options = embedded(out / "graph.html")
    names = sorted(n["name"] for n in data["forward"]["nodes"] if n["kind"] == "param")
    assert names == ["conv.bias", "conv.weight", "fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"]
    assert options["direction"] == "backward" and data["steps"]
    assert "graph.html" in cli.ARTIFACTS


def test_train_keeps_the_previous_graph_html_when_a_file_cannot_be_written(tmp_path, capsys, monkeypatch):
    """graph.html is one of the run's files: a failure writing it changes nothing in the folder."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "graph.html").write_text("previous")
    real = cli.write_files

    def failing(folder, files, remove=()):
        assert "graph.html" in files and isinstance(files["graph.html"], bytes)
        broken = dict(files, **{"graph.html": lambda path: (_ for _ in ()).throw(OSError(28, "No space left"))})
        return real(folder, broken, remove)
    monkeypatch.setattr(cli, "write_files", failing)
    code, _, err = run(capsys, "train", "--model", "seed", "--dataset", "digits", "--epochs", "1", "--limit",
                       "100", "--quiet", "--out", str(out))
    assert code == 1 and "No space left" in err and "nothing there was changed" in err, err
    assert sorted(p.name for p in out.iterdir()) == ["graph.html"] and (out / "graph.html").read_text() == "previous"
