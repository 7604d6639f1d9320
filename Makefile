# propscan: `make demo` and `make test` work on a fresh machine (they create .venv themselves).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
EXAMPLE := src/propscan/examples/invented_article.txt
SHARED ?= ../shared

.PHONY: help venv dev demo test lint train bench bench-batch clean

help:
	@echo "make demo         set up .venv and analyze the bundled invented example"
	@echo "make test         set up .venv with dev extras and run the whole test suite"
	@echo "make lint         ruff"
	@echo "make train        reproduce the shipped model from $(SHARED)/data (needs '.[train]')"
	@echo "make bench        speed and memory figures of the detector"
	@echo "make bench-batch  batch throughput with 1 and 2 workers"

$(BIN)/propscan: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	@touch $@

venv: $(BIN)/propscan

$(VENV)/.dev: $(BIN)/propscan
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

dev: $(VENV)/.dev

demo: venv
	$(BIN)/propscan analyze $(EXAMPLE)

test: dev
	$(BIN)/ruff check src tests scripts
	$(BIN)/pytest -q

lint: dev
	$(BIN)/ruff check src tests scripts

# Reproduces the shipped model: 4 epochs on the 80% fit split, decoding settings chosen on the
# dev slice, figures on the held-out 20% (see MODEL_CARD.md). Runs take about 30 min on 2 cores.
RUN ?= runs/train
train: venv
	$(BIN)/pip install -q -e '.[train]'
	$(BIN)/python -m propscan.train --data $(SHARED)/data/ptc-train --run $(RUN) --epochs 4
	$(BIN)/python -m propscan.train.finalize $(RUN)/epoch4 --data $(SHARED)/data/ptc-train \
		--split $(RUN)/split.json --install src/propscan/detect/model
	$(BIN)/python scripts/make_stats.py

bench: venv
	$(BIN)/python scripts/bench.py --large

bench-batch: venv
	$(BIN)/python scripts/bench_batch.py --articles $(SHARED)/data/ptc-train/train-articles --threads 1

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
