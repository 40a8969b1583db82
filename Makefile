# Two entry points, each does its own set-up on a fresh machine with only Python:
#   make run   -> creates .venv, installs lrjax with the experiment extras, runs the main job
#   make test  -> creates .venv, installs the test extras, runs lint, type check and pytest
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
STAMP_DOCS := $(VENV)/.installed-docs

.PHONY: run compress imaging test lint typecheck pytest bench clean core-check wheel-check docs

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[experiments]"
	touch $@

$(STAMP_TEST): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[experiments,test]"
	touch $@

$(STAMP_DOCS): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[docs]"
	touch $@

run: $(STAMP_RUN)
	$(PY) -m experiments.polyphonic --config=experiments/polyphonic/configs/default.py --workdir=runs/polyphonic

compress: $(STAMP_RUN)
	$(PY) -m experiments.compress --config=experiments/compress/configs/default.py --workdir=runs/compress

imaging: $(STAMP_RUN)
	$(PY) -m experiments.background --workdir=runs/imaging/background
	$(PY) -m experiments.background --config=experiments/background/configs/hall.py --workdir=runs/imaging/background_hall
	$(PY) -m experiments.msi_denoise --workdir=runs/imaging/msi_denoise
	$(PY) -m experiments.cs_recovery --workdir=runs/imaging/cs_recovery
	$(PY) -m experiments.faces --workdir=runs/imaging/faces

lint: $(STAMP_TEST)
	$(PY) -m ruff check lrjax tests experiments tools conftest.py
	$(PY) -m ruff format --check lrjax tests experiments tools conftest.py

typecheck: $(STAMP_TEST)
	$(PY) -m mypy

pytest: $(STAMP_TEST)
	$(PY) -m pytest

test: lint typecheck pytest

# The documentation site (mkdocs + mkdocstrings: the API reference from the docstrings) in
# site/; mkdocs.yml sets strict mode, so every warning is an error
docs: $(STAMP_DOCS)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

bench: $(STAMP_TEST)
	$(PY) -m experiments.benchmarks.foundation
	$(PY) -m experiments.benchmarks.solvers
	$(PY) -m experiments.benchmarks.layers
	$(PY) -m experiments.benchmarks.recurrent

# lrjax with its core dependencies only: every core module imports, optional packages stay out
core-check:
	rm -rf .venv-core
	$(PYTHON) -m venv .venv-core
	.venv-core/bin/python -m pip install --quiet --upgrade pip
	.venv-core/bin/python -m pip install --quiet .
	cd tools && ../.venv-core/bin/python check_core_install.py

clean:
	rm -rf $(VENV) .venv-core .venv-wheel dist site runs .pytest_cache .ruff_cache .mypy_cache

# The built wheel alone loads every shipped dataset: a fresh venv with the wheel (and the
# loaders' SciPy and Pillow), run from outside the checkout
wheel-check:
	rm -rf .venv-wheel dist
	$(PYTHON) -m venv .venv-wheel
	.venv-wheel/bin/python -m pip install --quiet --upgrade pip
	.venv-wheel/bin/python -m pip wheel --quiet --no-deps -w dist .
	.venv-wheel/bin/python -m pip install --quiet dist/lrjax-*.whl scipy pillow
	cd /tmp && $(CURDIR)/.venv-wheel/bin/python $(CURDIR)/tools/check_wheel_data.py
