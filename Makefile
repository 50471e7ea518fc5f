# Two commands do everything: `make run` and `make test`. Both create .venv and install on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1

.PHONY: run test install lint ingest bench eval screenshot clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel setuptools

# Re-install only when pyproject.toml changes. llama-cpp-python compiles from source the first time
# (5-8 minutes on 2 cores; pip caches the wheel). If that build fails, the core still installs and
# the engine answers in extractive mode.
$(STAMP): pyproject.toml | $(BIN)/python
	@echo "Installing paperchat and its dependencies (first time: several minutes)..."
	$(BIN)/pip install --quiet -e ".[test,local,ray]" || { \
	  echo "warning: the local LLM (llama-cpp-python) did not install; continuing without it"; \
	  $(BIN)/pip install --quiet -e ".[test,ray]"; }
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check rag ui tests eval tools

test: $(STAMP)
	$(BIN)/ruff check rag ui tests eval tools
	$(BIN)/python -m pytest -q

ingest: $(STAMP)
	$(BIN)/rag ingest

run: $(STAMP)
	@$(BIN)/python -c "from rag import Engine; import sys; sys.exit(0 if not Engine.from_env().is_empty() else 1)" \
	  || $(BIN)/rag ingest
	$(BIN)/rag serve

eval: $(STAMP)
	$(BIN)/rag eval --dataset eval/datasets/dev.jsonl --out out/eval

# Speed figures (docs/performance.md). Issue 18's scale run: make bench BENCH_SIZES=410,100000,1000000 (over an hour on 2 cores).
BENCH_SIZES ?= 410,10000,100000
bench: $(STAMP)
	$(BIN)/rag bench --sizes $(BENCH_SIZES)

screenshot: $(STAMP)
	$(BIN)/python -m tools.screenshot

clean:
	rm -rf .rag out .pytest_cache .ruff_cache
