# Two commands on a fresh machine with only Python 3:
#   make demo   train the tutorial CNN on the offline digits data (checkpoint, metrics, plot, graph in runs/demo)
#   make test   lint, build the docs strictly, run the whole test suite (what .ci/run calls)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test lint docs bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,datasets,train,onnx]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m tinygrad_cnn train --model seed --dataset digits --out runs/demo

lint: $(STAMP)
	$(BIN)/ruff check .

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site  # not --quiet: it hides the warnings --strict counts

test: $(STAMP) lint docs
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) runs site .pytest_cache .hypothesis
