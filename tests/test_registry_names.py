"""The torch-free lists of disentangle.registry_names against the registries they mirror, and the
config check that uses them without importing torch."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

from disentangle import registry_names, theory
from disentangle.generative import METHODS, hyperparameters
from disentangle.models import ARCHITECTURES
from disentangle.theory_checks import CHECKS

PACKAGE = Path(registry_names.__file__).resolve().parent


def test_importing_the_config_check_does_not_import_torch():
    """`import disentangle.config` (what Snakemake does on every call) loads no torch, also when
    the config is checked."""
    code = (
        "import sys, yaml\n"
        "import disentangle.config as c\n"
        "assert 'torch' not in sys.modules, 'import disentangle.config imported torch'\n"
        "config = yaml.safe_load(open('config/config.yaml'))\n"
        "c.load_and_check(config, 'workflow/schemas/config.schema.yaml')\n"
        "assert 'torch' not in sys.modules, 'load_and_check imported torch'\n"
    )
    root = PACKAGE.parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_theory_check_names_follow_the_registry():
    assert list(registry_names.THEORY_CHECK_MODULES) == list(CHECKS)
    assert registry_names.THEORY_CHECKS == tuple(CHECKS)
    for name, build in CHECKS.items():
        where = registry_names.THEORY_CHECK_MODULES[name]
        if name in theory.CLOSED_FORM_CHECKS:
            assert where == "theory/__init__.py", name
        else:
            defined = Path(inspect.getfile(build)).resolve().relative_to(PACKAGE).as_posix()
            assert where == defined, name


def test_generative_hyperparameters_follow_the_models():
    assert set(registry_names.GENERATIVE_HYPERPARAMETERS) == set(METHODS)
    for method in METHODS:
        assert registry_names.hyperparameters(method) == tuple(hyperparameters(method)), method


def test_unknown_method_is_named_as_before():
    messages = []
    for lookup in (registry_names.hyperparameters, hyperparameters):
        try:
            lookup("beta_vea")
        except ValueError as err:
            messages.append(str(err))
        else:
            raise AssertionError("unknown method accepted")
    assert messages[0] == messages[1]


def test_architecture_modules_follow_the_registry():
    assert set(registry_names.ARCHITECTURE_MODULES) == set(ARCHITECTURES)
    for name, cls in ARCHITECTURES.items():
        defined = Path(inspect.getfile(cls)).resolve().relative_to(PACKAGE).as_posix()
        assert registry_names.ARCHITECTURE_MODULES[name] == defined, name
