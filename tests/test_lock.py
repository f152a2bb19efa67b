"""The lock files still satisfy pyproject.toml: every dependency pinned, in range, hashed."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
LOCKS = {
    "runtime": ROOT / "requirements" / "runtime.lock",
    "dev": ROOT / "requirements" / "dev.lock",
}
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(?P<version>[^\s;\\]+)")
_FIX = "run `make lock` and commit requirements/"


def _declared(lock: str) -> list[Requirement]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    requirements = [Requirement(text) for text in project["dependencies"]]
    if lock == "dev":
        requirements += [Requirement(text) for text in project["optional-dependencies"]["dev"]]
    return requirements


def _pins(lock: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in LOCKS[lock].read_text().splitlines():
        if match := _PIN.match(line):
            pins[canonicalize_name(match["name"])] = match["version"]
    return pins


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_declared_dependency_is_pinned_within_its_range(lock: str) -> None:
    pins = _pins(lock)
    problems = []
    for requirement in _declared(lock):
        pinned = pins.get(canonicalize_name(requirement.name))
        if pinned is None:
            problems.append(f"{requirement} is not in {LOCKS[lock].name}")
        elif not requirement.specifier.contains(pinned, prereleases=True):
            problems.append(f"{requirement} but {LOCKS[lock].name} pins {pinned}")
    assert problems == [], f"{'; '.join(problems)}: {_FIX}"


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_pin_carries_a_hash(lock: str) -> None:
    text = LOCKS[lock].read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[-1])
    unhashed = [
        entry.split()[0] for entry in entries if _PIN.match(entry) and "--hash=sha256:" not in entry
    ]
    assert unhashed == [], f"unhashed pins {unhashed}: {_FIX}"


def test_runtime_lock_agrees_with_the_dev_lock() -> None:
    runtime, dev = _pins("runtime"), _pins("dev")
    differing = {
        name: (version, dev.get(name))
        for name, version in runtime.items()
        if dev.get(name) != version
    }
    assert differing == {}, f"runtime and dev locks pin differently {differing}: {_FIX}"
