# Two commands do everything, on a fresh machine with Python 3.11 and pip:
#   make report   set up .venv if needed, then run the default assessment end to end
#   make test     set up .venv if needed, then run the test suite
PYTHON ?= python3
VENV   ?= .venv
PARAMS ?= params/default.yaml
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
KERNEL := needs-assessment
PYTEST_ARGS ?=

.PHONY: report test setup lint clean-venv benchmark all-areas batch

$(STAMP): pyproject.toml requirements/constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements/constraints.txt -e ".[dev]"
	@# rfc3987-syntax (pulled in by jupyterlab through jsonschema[format-nongpl]) builds a
	@# grammar on every nbformat import and doubles papermill run time; nothing here
	@# validates URI formats, so it is removed (see README, "Why some choices").
	-$(PY) -m pip uninstall --quiet --yes rfc3987-syntax
	$(VENV)/bin/needs-assessment install-kernel --name $(KERNEL) >/dev/null
	@touch $(STAMP)

setup: $(STAMP)

report: $(STAMP)
	$(VENV)/bin/needs-assessment run --params $(PARAMS)

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check lib tests benchmarks
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/nbstripout --verify notebooks/*.ipynb

benchmark: $(STAMP)
	$(PY) benchmarks/pipeline_stages.py

batch: $(STAMP)
	$(VENV)/bin/needs-assessment batch --params 'params/*.yaml'

all-areas: $(STAMP)
	for p in params/*.yaml; do $(VENV)/bin/needs-assessment run --params $$p || exit 1; done

clean-venv:
	rm -rf $(VENV)
