# Two entry points, each doing everything on a fresh machine:
#   make quickstart   create the venv, install, run the quickstart
#   make test         create the venv, install, run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH := torch==2.14.1 torchvision==0.29.1
# Use the shared CIFAR-10 copy when it is there; otherwise lrsearch downloads CIFAR-10.
SHARED_CIFAR := ../shared/data/cifar10-jpeg-fallback
DATA_ARG := $(if $(wildcard $(SHARED_CIFAR)/cifar-10-batches-py),--data-dir $(abspath $(SHARED_CIFAR)),)

.PHONY: install quickstart test lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

quickstart: install
	$(BIN)/lrsearch run studies/quickstart.yaml $(DATA_ARG)

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check lrsearch tests bench
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache
