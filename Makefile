# `make run` and `make test` set up their own virtual environment on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench-intake bench-drain bench-latency bench-ratelimit bench-footprint chaos requirements clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/leadgate dev

test: $(STAMP)
	$(BIN)/python -m pytest -q

# ruff, then mypy: its default level over gateway/ and workers/, strict over gateway/domain/ and
# gateway/store/ (pyproject.toml: [tool.mypy])
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# the docs site (mkdocs.yml, docs/) into site/; --strict: a broken link or a page left out fails
.PHONY: docs
docs: $(STAMP)
	$(BIN)/mkdocs build --strict

chaos: $(STAMP)
	$(BIN)/python -m bench.chaos --n 20000

bench-intake: $(STAMP)
	$(BIN)/python -m bench.intake

bench-drain: $(STAMP)
	$(BIN)/python -m bench.drain

bench-latency: $(STAMP)
	$(BIN)/python -m bench.latency

bench-ratelimit: $(STAMP)
	$(BIN)/python -m bench.ratelimit

bench-footprint: $(STAMP)
	$(BIN)/python -m bench.footprint

# requirements.txt (what Heroku installs) from the venv, after a change to the dependencies
requirements: $(STAMP)
	$(BIN)/python bench/requirements.py > requirements.txt

clean:
	rm -rf $(VENV) .leadgate .pytest_cache site
