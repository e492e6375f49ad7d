"""The pinned set-up: requirements.lock (what `make setup` and CI install) agrees with
pyproject.toml's dependencies, and the licence pyproject names is in the repository."""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import REPO


def locked() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, version = line.partition("==")
        assert version, f"requirements.lock: {line!r} is not pinned with =="
        pins[canonicalize_name(name)] = version
    return pins


def test_lock_pins_every_dependency_within_its_range():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = locked()
    wanted = list(project["dependencies"])
    for extra in ("test", "slurm"):
        wanted += project["optional-dependencies"][extra]
    for spec in map(Requirement, wanted):
        name = canonicalize_name(spec.name)
        if name == "torch":  # installed first, separately (CPU wheel or the cluster's CUDA build)
            assert name not in pins
            continue
        assert name in pins, f"{spec.name} is not in requirements.lock: run `make lock`"
        assert spec.specifier.contains(pins[name], prereleases=True), (spec, pins[name])


def test_lock_pins_each_package_once():
    names = [
        canonicalize_name(line.split("==")[0])
        for line in (REPO / "requirements.lock").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(names) == len(set(names))


def test_license_file_matches_pyproject():
    assert tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["license"] == "MIT"
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in text
