# Two commands on a fresh machine with only Python 3:
#   make demo   train the tutorial CNN on the offline digits data (checkpoint, metrics, plot, graph in runs/demo)
#   make test   lint and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,datasets,train]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m tinygrad_cnn train --model seed --dataset digits --out runs/demo

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP) lint
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache .hypothesis
