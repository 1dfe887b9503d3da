"""The lock files install exactly what requirements*.txt ask for (``make lock`` keeps them in step)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def _pins(path: Path) -> dict[str, str]:
    return {name.lower().replace("_", "-"): version for name, version in PIN.findall(path.read_text(encoding="utf-8"))}


@pytest.mark.parametrize(
    ("asked", "locked"), [("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock")]
)
def test_every_pin_is_locked_at_the_same_version_with_hashes(asked, locked):
    wanted = _pins(REPO / asked)
    if asked == "requirements-dev.txt":
        wanted |= _pins(REPO / "requirements.txt")
    lock = _pins(REPO / locked)
    assert len(wanted) > 10
    differ = {name: (version, lock.get(name)) for name, version in wanted.items() if lock.get(name) != version}
    assert not differ, f"run `make lock`: {differ}"
    blocks = [
        block for block in re.split(r"\n(?=[a-z0-9])", (REPO / locked).read_text(encoding="utf-8")) if "==" in block
    ]
    assert blocks and all("--hash=sha256:" in block for block in blocks), "every locked package carries its hashes"
