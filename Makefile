# mimekit: every target sets up .venv first (once; again only when pyproject.toml changes).
# Needs only Python 3 (with its venv module) and make.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# JupyterLab listens on loopback only; override with `make lab LAB_PORT=9999`.
LAB_PORT ?= 8888
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: help setup lab demo test notebooks clean

help:
	@echo "make lab        set up, then start JupyterLab on notebooks/ (stop it with Ctrl-C twice)"
	@echo "make demo       set up, then send every shop e-mail to the embedded server and print them"
	@echo "make test       set up, then run the tests, nbval on every notebook (strict), the exercises and the browser tests"
	@echo "make notebooks  re-execute the notebooks in place to refresh their stored outputs"
	@echo "make clean      remove .venv and caches"

$(STAMP): pyproject.toml
	@# A .venv without a working pip (half made, or made without python3-venv) is made again.
	@$(BIN)/python -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); } || \
		{ echo "Cannot create $(VENV): install Python's venv module (Debian/Ubuntu: apt install python3-venv)"; exit 1; }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[lab,test]'
	@touch $(STAMP)

setup: $(STAMP)

lab: setup
	$(BIN)/jupyter lab --no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) \
		--ServerApp.root_dir=notebooks $(LAB_ROOT)

demo: setup
	$(BIN)/python -m mimekit demo

test: setup
	$(BIN)/python -m pytest

notebooks: setup
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=120 --ExecutePreprocessor.record_timing=False \
		--ExecutePreprocessor.store_widget_state=False notebooks/*.ipynb

clean:
	rm -rf $(VENV) .pytest_cache *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
