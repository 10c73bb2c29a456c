# newsdesk — the commands a new user and CI type. Everything installs from this repository's own files.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_INDEX := var/demo
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run demo-index test test-all lint bench browser clean

install: $(VENV)/.installed

# torch is installed first and pinned by constraints.txt (with ray): 2.13.0 is the CPU build on this machine,
# and any looser requirement would pull several GB of CUDA wheels.
$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt torch==2.13.0
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test,ray]'
	touch $@

demo-index: install
	test -f $(DEMO_INDEX)/manifest.json || $(BIN)/newsdesk index data/sample --index $(DEMO_INDEX)

run: demo-index
	$(BIN)/newsdesk serve --index $(DEMO_INDEX) --host $(HOST) --port $(PORT)

# Debian's Chromium for the page's browser tests (never a browser download). Best effort: without it
# those tests skip and say why.
browser:
	@test -x /usr/bin/chromium || { (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| echo "warning: could not install chromium; browser tests will be skipped"; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

test: install browser lint
	$(BIN)/pytest -q

test-all: install browser lint
	NEWSDESK_SLOW=1 $(BIN)/pytest -q

# Every benchmark on ../shared/data (each says "skipped" when its data is absent). bench_index embeds
# rtqa-5k three times (newsdesk int8, plain sentence-transformers, txtai): about an hour on 2 cores.
# bench_query reads the txtai index bench_index leaves in var/bench. Figures: docs/benchmarks.md.
bench: install
	$(BIN)/pip install --quiet -c constraints.txt -e '.[bench]'
	$(BIN)/python scripts/bench_encode.py
	$(BIN)/python scripts/bench_index.py
	$(BIN)/python scripts/bench_query.py
	$(BIN)/python scripts/bench_ann.py

clean:
	rm -rf $(VENV) var .pytest_cache
