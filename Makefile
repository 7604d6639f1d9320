# propscan: `make demo` and `make test` work on a fresh machine (they create .venv themselves).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
EXAMPLE := src/propscan/examples/invented_article.txt
SHARED ?= ../shared

.PHONY: help venv dev demo test test-fast lint typecheck train bench bench-batch bench-train bench-adapt \
	loadcheck screenshot clean

help:
	@echo "make demo         set up .venv and analyze the bundled invented example"
	@echo "make test         set up .venv with dev + train extras (CPU torch); ruff, then every test"
	@echo "make test-fast    the tests not marked slow (no training, export, clusters, browser)"
	@echo "make lint         ruff"
	@echo "make typecheck    mypy on src/propscan"
	@echo "make train        reproduce the shipped model from $(SHARED)/data (5-fold CV, self-trained; 15-30 h on 2 CPU cores, minutes on a GPU)"
	@echo "make bench        speed and memory figures of the detector"
	@echo "make bench-batch  batch throughput with 1 and 2 workers"
	@echo "make bench-train  seconds per training step (attention dropout on and off)"
	@echo "make bench-adapt  time of propscan adapt on 70 reviewed PTC articles"
	@echo "make loadcheck    latency of the HTTP API under concurrent requests (a server on 127.0.0.1)"
	@echo "make screenshot   refresh docs/web.png (needs Debian chromium)"

$(BIN)/propscan: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	@touch $@

venv: $(BIN)/propscan

$(VENV)/.dev: $(BIN)/propscan
	$(BIN)/pip install -q -e '.[dev,train]'
	@touch $@

dev: $(VENV)/.dev

demo: venv
	$(BIN)/propscan analyze $(EXAMPLE)

LINTED := src tests benchmarks tools

test: dev
	$(BIN)/ruff check $(LINTED)
	$(BIN)/mypy
	$(BIN)/pytest -q

# the edit loop: leaves out the tests marked slow (pyproject.toml, tests/conftest.py)
test-fast: dev
	$(BIN)/pytest -q -m "not slow"

lint: dev
	$(BIN)/ruff check $(LINTED)

# settings in pyproject.toml [tool.mypy]
typecheck: dev
	$(BIN)/mypy

# Reproduces the shipped model: per cross-validation fold (5) and once on every article, a
# teacher tagger labels the 400 unlabelled news articles and a fresh student learns from the gold
# fragments and those labels (self-training); then decoding settings, span model and calibration
# are fitted on the students' held-out scores (see MODEL_CARD.md). 6 + 3 epochs per tagger, the
# students over about twice the windows: an estimated 15-30 h on 2 idle cores, about 8 min on
# one H100 GPU; finished stages are reused.
# TRAIN_FLAGS=--attention-dropout=0 trains about 1.9x faster (see MODEL_CARD.md);
# TRAIN_FLAGS='--device cuda --jobs 6' trains the six teacher-student pairs at once on a GPU.
RUN ?= runs/train
TRAIN_FLAGS ?=
train: dev
	$(BIN)/python -m propscan.train --data $(SHARED)/data/ptc-train --run $(RUN) --folds 5 \
		--unlabelled $(SHARED)/data/unlabeled-news --install src/propscan/detect/model \
		$(TRAIN_FLAGS)
	$(BIN)/python -m propscan.train.reference_stats --shared $(SHARED) --oof $(RUN)/self-trained

bench: dev
	$(BIN)/python benchmarks/bench.py --large --passes 3

bench-batch: venv
	$(BIN)/python benchmarks/bench_batch.py --articles $(SHARED)/data/ptc-train/train-articles --threads 1

bench-explorer: venv
	$(BIN)/python benchmarks/bench_explorer.py --articles 100000

bench-train: dev
	$(BIN)/python benchmarks/bench_train.py

bench-adapt: dev
	$(BIN)/python benchmarks/bench_adapt.py --data $(SHARED)/data/ptc-train

# starts its own server on a free 127.0.0.1 port; LOADCHECK_FLAGS='--requests 50 --concurrency 4'
LOADCHECK_FLAGS ?=
loadcheck: venv
	$(BIN)/python benchmarks/loadcheck.py $(LOADCHECK_FLAGS)

screenshot: dev
	$(BIN)/python tools/screenshot_web.py --out docs/web.png

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
