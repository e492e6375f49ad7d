# Convenience targets. `make reproduce` rebuilds every panel of the default preset; `make test`
# is what CI runs (.ci/run). Both create the virtual environment on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU wheel of torch by default (small, enough for the smoke and quick presets). On a GPU
# machine or cluster, install your CUDA build instead: `make setup TORCH=torch`.
TORCH ?= torch==2.13.0

.PHONY: setup lock reproduce smoke paper test test-cluster gpu-check lint report clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e ".[test,slurm]"
	$(BIN)/python -m pip check
	touch $@

lock: setup  ## rewrite requirements.lock from the environment (after editing pyproject's deps)
	$(BIN)/python -m pip install --quiet -e ".[test,slurm]"
	{ sed -n '1,3p' requirements.lock; $(BIN)/python -m pip freeze --exclude-editable \
	  | grep -vi '^torch==\|^disentangle' | LC_ALL=C sort -f; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

reproduce: setup  ## every panel, default (quick) preset
	$(BIN)/snakemake --cores all

smoke: setup  ## every panel, smoke preset (minutes)
	$(BIN)/snakemake --cores all --profile profiles/smoke

paper: setup  ## every panel, the paper's settings (GPU / SLURM recommended)
	$(BIN)/snakemake --cores all --profile profiles/paper

PRESET ?= quick
report: setup  ## HTML report of the panels built so far (PRESET=quick|smoke|paper)
	targets="$$($(BIN)/python -m disentangle built --preset $(PRESET))" && \
	$(BIN)/snakemake --profile profiles/$(PRESET) --report report.html $$targets

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow/rules

test: setup lint  ## lint + the test suite (unit tests and the smoke DAG); what CI runs
	$(BIN)/python -m pytest

test-cluster: setup  ## a real single-node SLURM cluster (root + apt): profile, panel, scancel/resume
	$(BIN)/python -m pytest -m "cluster and not slow" tests/test_cluster.py

gpu-check: setup  ## on a GPU machine: determinism, drift, smoke preset, throughput (DEVICE=cpu: dry run)
	bash benchmarks/gpu_check.sh

clean:  ## remove generated results and figures (keeps the environment)
	rm -rf results .snakemake figures/*/ report.html
