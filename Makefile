# One command each for a fresh machine: `make demo` and `make test` set everything up first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test fuzz bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m astschema summary fixtures/hub
	$(PY) -m astschema ddl fixtures/hub --dialect sqlite
	@mkdir -p data
	@if command -v dot >/dev/null 2>&1; then \
		$(PY) -m astschema graph fixtures/hub --format svg -o data/hub-schema.svg -q && \
		echo "The diagram of fixtures/hub is in data/hub-schema.svg"; \
	else \
		$(PY) -m astschema graph fixtures/hub --format mermaid -o data/hub-schema.mmd -q && \
		echo "Graphviz is not installed (apt-get install graphviz): Mermaid diagram in data/hub-schema.mmd"; \
	fi

test: $(STAMP)
	$(PY) -m pytest -q

# The fuzzers with a large budget (make test runs them with a small one).
fuzz: $(STAMP)
	ASTSCHEMA_FUZZ_EXAMPLES=300 $(PY) -m pytest -q tests/test_fuzz.py

# astschema against the import bootstrap on generated trees (see bench/run.py; takes long).
bench: $(STAMP)
	$(PY) bench/run.py --sizes $(or $(SIZES),100,1000,10000) --json data/bench.json

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .astschema_cache
