# propscan: `make demo` and `make test` work on a fresh machine (they create .venv themselves).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
EXAMPLE := src/propscan/examples/invented_article.txt
SHARED ?= ../shared

.PHONY: help venv dev demo test lint train bench bench-batch bench-train clean

help:
	@echo "make demo         set up .venv and analyze the bundled invented example"
	@echo "make test         set up .venv with dev + train extras (CPU torch) and run all tests"
	@echo "make lint         ruff"
	@echo "make train        reproduce the shipped model from $(SHARED)/data (5-fold CV, self-trained; 15-30 h on 2 CPU cores, minutes on a GPU)"
	@echo "make bench        speed and memory figures of the detector"
	@echo "make bench-batch  batch throughput with 1 and 2 workers"
	@echo "make bench-train  seconds per training step (attention dropout on and off)"

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

test: dev
	$(BIN)/ruff check src tests scripts
	$(BIN)/pytest -q

lint: dev
	$(BIN)/ruff check src tests scripts

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
	$(BIN)/python scripts/make_stats.py --oof $(RUN)/self-trained

bench: dev
	$(BIN)/python scripts/bench.py --large --passes 3

bench-batch: venv
	$(BIN)/python scripts/bench_batch.py --articles $(SHARED)/data/ptc-train/train-articles --threads 1

bench-train: dev
	$(BIN)/python scripts/bench_train.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
