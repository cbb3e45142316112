"""A resolution that fails while it writes leaves the register exactly as it was.

Part of the write runs on two threads (the memberships on one while DuckDB decides
the links on the other); a failure anywhere must stop it, roll everything back and
say so, never hang or leave half a register.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import muster.resolve.pipeline as resolution
from conftest import Register, Snapshots
from helpers import resolved_300_persons


def _fail(*_args: Any, **_kwargs: Any) -> None:
    raise RuntimeError("simulated failure")


def _exports(register: Register, path: Path) -> tuple[bytes, bytes]:
    register.ok("export", "links", "--out", path / "links.csv")
    register.ok("export", "persons", "--out", path / "persons.csv")
    return (path / "links.csv").read_bytes(), (path / "persons.csv").read_bytes()


@pytest.mark.parametrize("failing", [
    "build_outcomes",  # deciding links, while the memberships are being written
    "build_golden",  # after the memberships and links are written
])
def test_a_run_that_fails_while_writing_changes_nothing(
        register: Register, tmp_path: Path, snapshots: Snapshots, failing: str) -> None:
    resolved_300_persons(register, tmp_path, snapshots)
    (tmp_path / "before").mkdir()
    before = _exports(register, tmp_path / "before")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(resolution, failing, _fail)
        result = register.run("resolve", "--full")
    assert result.exit_code == 1
    assert "simulated failure" in result.err

    (tmp_path / "after").mkdir()
    assert _exports(register, tmp_path / "after") == before
    # The register still resolves, and to the same persons.
    assert "full: every record" in register.ok("resolve", "--full")
    (tmp_path / "again").mkdir()
    assert _exports(register, tmp_path / "again")[0] == before[0]
