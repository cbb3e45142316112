"""An ingest killed mid-file leaves nothing half-done, and a rerun completes.

These tests kill a real `muster ingest` process while its writes are uncommitted
(held there by the MUSTER_INGEST_PAUSE_BEFORE_COMMIT fault-injection point).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import count, declare, records
from muster.ingest.load import PAUSE_ENV

ROWS = 20_000
TABLES = ("batches", "source_records", "quarantine", "record_flags", "record_versions")


def _extract(tmp_path: Path) -> Path:
    extract = tmp_path / "big.csv"
    lines = ["ID;FAM;SNILS"] + [f"{i:06d};Фамилия{i % 97};{i}" for i in range(ROWS)]
    lines.append(";no id;")  # one row for quarantine, so every table is exercised
    extract.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return extract


def _start(register, extract: Path, pause: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, PAUSE_ENV: str(pause)}
    return subprocess.Popen(
        [sys.executable, "-m", "muster", "--workspace", str(register.root), "ingest", "big",
         str(extract)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        # As at a terminal: a test run started in the background inherits SIGINT
        # ignored, and Python then never turns Ctrl-C into KeyboardInterrupt.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_until_writing(register, proc: subprocess.Popen[bytes]) -> None:
    """The archive copy appears just before the batch's rows are written."""
    folder = register.root / "extracts" / "big"
    deadline = time.monotonic() + 60
    while not (folder.exists() and any(folder.glob("*.partial"))):
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "ingest never reached the write step"
        time.sleep(0.05)
    time.sleep(1.5)  # well inside the pause: rows written, not committed


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["kill", "ctrl-c"])
def test_interrupted_ingest_leaves_nothing_and_rerun_completes(register, tmp_path, how):
    extract = _extract(tmp_path)
    register.ok("sources", "add", declare(tmp_path / "s.toml", big={
        "format": "csv", "delimiter": ";", "record_id": "ID",
        "fields": {"family_name": "FAM", "national_id": "SNILS"}}))
    proc = _start(register, extract, pause=60)
    _wait_until_writing(register, proc)
    proc.send_signal(how)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    if how == signal.SIGINT:
        assert b"nothing half-done was kept" in err
    store = register.store()
    assert {t: count(store, t) for t in TABLES} == dict.fromkeys(TABLES, 0)

    out = register.ok("ingest", "big", extract)
    assert f"read {ROWS + 1:,} = accepted {ROWS:,} + repeated 0 + quarantined 1" in out
    assert len(records(store, "big")) == ROWS
    archived = sorted(p.name for p in (register.root / "extracts" / "big").iterdir())
    assert len(archived) == 1 and not archived[0].endswith(".partial")
