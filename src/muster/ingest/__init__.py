"""Ingest: extract files → canonical source records, flags and quarantine.

    read_extract  (read.py)       file → rows with physical line and raw text
    normalise     (normalise.py)  rows → canonical records, field flags, quarantine
    write_batch   (load.py)       one all-or-nothing transaction into the store

Counts always reconcile: rows read = accepted + repeated + quarantined, and
accepted = new + updated + unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from muster.errors import ConfigError, NotFound, SourceError
from muster.ingest.declaration import SourceDeclaration, parse_declaration, parse_sources
from muster.ingest.load import FileInfo, write_batch
from muster.ingest.normalise import Normalised, normalise
from muster.ingest.read import read_extract
from muster.profile import Profile
from muster.store import Store
from muster.store.bulk import bulk_transaction

__all__ = [
    "IngestReport", "PreparedFile", "SourceDeclaration", "add_sources", "check_file",
    "declaration_for", "ingest_file", "prepare_file", "write_prepared",
]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class IngestReport:
    source: str
    file: Path
    batch_id: int
    rows_read: int
    accepted: int
    repeated: int
    quarantined: int
    flagged: int
    new: int
    updated: int
    unchanged: int
    already_ingested: bool = False
    seconds: float = 0.0

    @property
    def reconciles(self) -> bool:
        return (self.rows_read == self.accepted + self.repeated + self.quarantined
                and self.accepted == self.new + self.updated + self.unchanged)


def declaration_for(sources: dict[str, object], name: str, base: Path) -> SourceDeclaration:
    if name not in sources:
        known = ", ".join(sorted(sources)) or "none yet"
        raise NotFound(
            f"Source {name!r} is not declared in this workspace (declared: {known}).",
            hint="Declare it with `muster sources add FILE.toml`.",
        )
    declaration, problems = parse_declaration(name, sources[name], base)
    if declaration is None:
        raise ConfigError(f"The declaration of source {name!r} is not valid:", problems=problems)
    return declaration


def add_sources(config: dict[str, object], toml_path: Path) -> tuple[list[str], list[str]]:
    """Validate a sources file and merge it into a workspace config: (added, replaced)."""
    import tomllib

    try:
        data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{toml_path} does not exist.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{toml_path} is not valid TOML: {exc}") from None
    declarations = parse_sources(data, base=toml_path.parent.resolve())
    current = dict(config.get("sources", {}))  # type: ignore[call-overload]
    added = [n for n in declarations if n not in current]
    replaced = [n for n in declarations if n in current]
    for name, declaration in declarations.items():
        current[name] = declaration.as_toml()
    config["sources"] = current
    return added, replaced


def _file_info(path: Path) -> FileInfo:
    if not path.is_file():
        raise SourceError(f"{path} does not exist or is not a file.", hint="Check the path.")
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return FileInfo(path.absolute(), digest.hexdigest(), path.stat().st_size)


def _previous_batch(store: Store, source: str, sha256: str) -> dict[str, Any] | None:
    # Through the bulk driver, like the writes around it: a SQLite connection of the
    # other library would wait for their checkpoints (store.sqlite_gate).
    with bulk_transaction(store) as db:
        rows = db.fetch_arrow("SELECT id, rows_read FROM batches "
                              "WHERE source = ? AND file_sha256 = ?", (source, sha256))
    return rows.to_pylist()[0] if rows.num_rows else None


@dataclass
class PreparedFile:
    """An extract read and normalised, not yet written (or found already ingested)."""

    decl: SourceDeclaration
    info: FileInfo
    started: datetime
    normalised: Normalised | None
    previous: IngestReport | None = None


def check_file(store: Store, decl: SourceDeclaration, path: Path) -> PreparedFile:
    """Hash the extract and look it up: the only step before the write that reads the
    store, so callers that overlap sources run it where no write is in progress."""
    started = datetime.now(UTC)
    info = _file_info(path)
    previous = _previous_batch(store, decl.name, info.sha256)
    if previous is None:
        return PreparedFile(decl, info, started, None)
    return PreparedFile(decl, info, started, None, IngestReport(
        decl.name, info.path, int(previous["id"]), int(previous["rows_read"]), 0, 0, 0, 0, 0, 0,
        0, already_ingested=True,
    ))


def prepare_file(checked: PreparedFile, profile: Profile,
                 progress: Progress | None = None) -> PreparedFile:
    """Read and normalise a checked extract: everything but the write, which needs the
    database's write lock. It does not touch the store, so another source can be
    written meanwhile."""
    if checked.previous is not None:
        return checked
    step = progress or (lambda _msg: None)
    step("reading")
    read = read_extract(checked.info.path, checked.decl)
    step("normalising")
    normalised = normalise(read, checked.decl, profile)
    del read  # the file's text and parsed columns: released before the write
    return replace(checked, normalised=normalised)


def write_prepared(
    store: Store, prepared: PreparedFile, archive_dir: Path | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Write a prepared extract as one batch (one transaction)."""
    if prepared.previous is not None or prepared.normalised is None:
        assert prepared.previous is not None
        return prepared.previous
    step = progress or (lambda _msg: None)
    decl, info, normalised = prepared.decl, prepared.info, prepared.normalised
    step("writing")
    batch_id, changes = write_batch(store, decl, normalised, info, archive_dir, prepared.started)
    accepted = changes.new + changes.updated + changes.unchanged
    return IngestReport(
        source=decl.name, file=info.path, batch_id=batch_id, rows_read=normalised.rows_read,
        accepted=accepted, repeated=normalised.repeated,
        quarantined=normalised.quarantine.num_rows, flagged=changes.flagged, new=changes.new,
        updated=changes.updated, unchanged=changes.unchanged,
        seconds=(datetime.now(UTC) - prepared.started).total_seconds(),
    )


def ingest_file(
    store: Store, profile: Profile, decl: SourceDeclaration, path: Path,
    archive_dir: Path | None = None, progress: Progress | None = None,
) -> IngestReport:
    """Ingest one extract of a declared source; the same file twice adds nothing."""
    (progress or (lambda _msg: None))("checking the file")
    prepared = prepare_file(check_file(store, decl, path), profile, progress)
    return write_prepared(store, prepared, archive_dir, progress)
