# Two entry points for a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench sample clean system-deps

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip uv

$(STAMP): $(PY) requirements.txt requirements-dev.txt
	$(PY) -m uv pip install --quiet --python $(PY) -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m streamlit run app.py --browser.gatherUsageStats false

lint: $(STAMP)
	$(PY) -m ruff check insights pages app.py tests bench sample_data
	$(PY) -m mypy insights

# What the tests need from Debian, installed when missing (root, or sudo where available): chromium for the
# browser tests, PostgreSQL for the warehouse tests (they start their own server), a JRE for Spark.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v java >/dev/null 2>&1 || missing="$$missing default-jre-headless"; \
	if [ -n "$$missing" ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

test: $(STAMP) system-deps lint
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/run_all.py

sample: $(STAMP)
	$(PY) sample_data/generate.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
