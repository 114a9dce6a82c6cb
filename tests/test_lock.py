"""requirements.lock pins every distribution the gateway and its tools need, transitively."""

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^ \\;]+)", re.MULTILINE)


def locked() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text()
    return {canonicalize_name(name): version for name, version in PIN.findall(text)}


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [
        Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]
    ]


def test_every_pin_of_pyproject_is_locked_at_the_same_version():
    lock = locked()
    for requirement in declared():
        [specifier] = requirement.specifier
        assert specifier.operator == "==", f"{requirement} is not pinned"
        assert lock.get(canonicalize_name(requirement.name)) == specifier.version, requirement


def test_every_installed_dependency_is_locked_at_its_installed_version_transitively():
    lock = locked()
    seen: set[str] = set()
    pending = [(r, frozenset(r.extras)) for r in declared()]
    while pending:
        requirement, extras = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        installed = metadata.distribution(name)
        assert lock.get(name) == installed.version, f"{name} {installed.version} is not locked"
        for dependency in (Requirement(r) for r in installed.requires or ()):
            wanted = dependency.marker is None or any(
                dependency.marker.evaluate({"extra": extra}) for extra in extras | {""}
            )
            if wanted:
                pending.append((dependency, frozenset(dependency.extras)))
    assert len(seen) > 50  # the walk went past the direct dependencies
