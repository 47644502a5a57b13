# Two commands do all the set-up themselves: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
# Loopback only unless asked: `make demo HOST=0.0.0.0` (plain HTTP; see docs/SECURITY.md for TLS).
HOST ?= 127.0.0.1
export HF_HUB_OFFLINE := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo kiosk test test-fast bench install clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

## Launch the app on the shipped weights, bundled samples and an embedded SQLite file.
demo: install
	$(PY) -m study demo-setup
	$(PY) -m streamlit run app.py --server.port $(PORT) --server.address $(HOST) \
	  --server.headless true --browser.gatherUsageStats false

## Same, in kiosk mode: nothing uploaded is kept, idle reset, no tracebacks.
kiosk: install
	RDS_KIOSK=1 $(MAKE) demo

## The whole test suite, including the real-browser end-to-end tests.
test: install
	$(PY) -m pytest -q

bench: install
	$(PY) bench/latency.py
	$(PY) bench/ui_latency.py
