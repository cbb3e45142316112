"""Officer-verified values enter the register as a source of their own.

The registration office is a source like any agency (``[casework] officer_source``
in the profile, "registration_office" by default), declared in the workspace
automatically. Its extract is one CSV file in the workspace, ``casework/<source>.csv``,
that grows by one row per decision and is ingested through the ingest stage's own
write path, so the values are validated, flagged and kept with full provenance like
any other. Each row is:

- record_id ``case-<case id>-<n>``;
- the fields the officer verified, and ``record_date`` the day of the decision;
- the person's names and identifiers copied from the golden record where the
  sources agree, so the record is complete enough to link on its own. A field in
  conflict is never copied, nor are birth_date and sex unless verified: an
  officer's value of those settles a conflict for eligibility.

A ``record_pins`` row says which person the record is about; resolution treats the
record as linked to that person's records ("verified by officer"). The profile's
trust order puts this source first, so its values win survivorship.
"""

from __future__ import annotations

import csv
import fcntl
import io
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from muster.eligibility.law import officer_source
from muster.errors import ConfigError
from muster.ingest import ingest_file
from muster.ingest.declaration import ISO_DATE, NAME_SLOTS, SourceDeclaration
from muster.ingest.normalise import normalise
from muster.ingest.read import read_extract
from muster.profile import Profile
from muster.store import Store
from muster.store.schema import STORED_FIELDS, golden_records, golden_values, record_pins
from muster.workspace import Workspace

DEFAULT_SOURCE = "registration_office"
AGENCY = "Registration office (officer-verified values, casework)"
# Fields an officer may verify: every stored canonical field but the record's own date.
VERIFIABLE = tuple(f for f in STORED_FIELDS if f != "record_date")
COLUMNS = ("record_id", *VERIFIABLE, "record_date")
# Copied so the record links and reads as a whole. Never birth_date or sex: an officer's
# value of those settles a conflict for eligibility, so only a verified one may appear.
IDENTITY_COPIED = ("family_name", "given_name", "middle_name", "birth_place", "national_id",
                   "passport_no", "tax_id")


def source_name(profile: Profile) -> str:
    return officer_source(profile) or DEFAULT_SOURCE


def declaration(name: str, path: Path | None) -> SourceDeclaration:
    return SourceDeclaration(
        name=name, agency=AGENCY, format="csv", encoding="utf-8", delimiter=",",
        record_id="record_id", date_format=ISO_DATE, name_order=NAME_SLOTS,
        fields={f: f for f in COLUMNS[1:]}, file=path,
    )


def office_file(ws: Workspace, name: str) -> Path:
    return ws.root / "casework" / f"{name}.csv"


def _csv_text(rows: list[dict[str, str]], header: bool = True) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def check_values(profile: Profile, values: dict[str, str]) -> dict[str, str]:
    """Field names and values as ingest would take them; every problem reported at once."""
    problems = [f"{field!r} is not a field an officer can verify (fields: "
                f"{', '.join(VERIFIABLE)})" for field in values if field not in VERIFIABLE]
    problems += [f"{field} is empty" for field, v in values.items()
                 if field in VERIFIABLE and not v.strip()]
    if problems:
        raise ConfigError("The values cannot be recorded:", problems=problems)
    row = {"record_id": "check", **values}
    decl = declaration(DEFAULT_SOURCE, None)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "check.csv"
        path.write_text(_csv_text([row]), encoding="utf-8")
        flags = normalise(read_extract(path, decl), decl, profile).flags.to_pylist()
    if flags:
        raise ConfigError("The values do not pass the register's checks:", problems=[
            f"{f['field']} = {f['raw_value']!r}: {f['problem'].replace('_', ' ')}"
            for f in flags], hint="Dates are YYYY-MM-DD; identifiers need valid check digits; "
            "regions and coded fields take the profile's values.")
    return values


def _identity_copy(store: Store, person_id: str) -> dict[str, str]:
    with store.engine.connect() as conn:
        golden = conn.execute(sa.select(golden_records).where(
            golden_records.c.person_id == person_id)).mappings().first()
        conflicting = set(conn.execute(sa.select(golden_values.c.field).where(
            golden_values.c.person_id == person_id, golden_values.c.conflict == 1)).scalars())
    copied = {}
    for field in IDENTITY_COPIED:
        value = golden[field] if golden else None
        if value is not None and field not in conflicting:
            copied[field] = value.isoformat() if isinstance(value, date) else str(value)
    return copied


def declare_office(ws: Workspace, name: str) -> SourceDeclaration:
    """The office's declaration, added to (or refreshed in) the workspace's muster.toml."""
    decl = declaration(name, office_file(ws, name))
    sources = dict(ws.config.get("sources", {}))
    if sources.get(name) != decl.as_toml():
        sources[name] = decl.as_toml()
        ws.config["sources"] = sources
        ws.save()
    return decl


def record_verified(ws: Workspace, store: Store, profile: Profile, case_id: int,
                    person_id: str, values: dict[str, str], on: date) -> tuple[str, str]:
    """Write the officer's values as a source record pinned to the person.

    Returns (source, record_id). Nothing is kept if the ingest fails.
    """
    check_values(profile, values)
    name = source_name(profile)
    with _office_writer(ws, name):
        return _append_verified(ws, store, profile, name, case_id, person_id, values, on)


@contextmanager
def _office_writer(ws: Workspace, name: str) -> Iterator[None]:
    """One writer of the office's extract at a time, across processes (the service's
    workers, the command line): its next record id and the file itself are read,
    extended and ingested under an exclusive lock, so no value is lost."""
    lock = ws.root / f".{name}.lock"
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _append_verified(ws: Workspace, store: Store, profile: Profile, name: str, case_id: int,
                     person_id: str, values: dict[str, str], on: date) -> tuple[str, str]:
    with store.engine.connect() as conn:
        n = 1 + int(conn.execute(sa.select(sa.func.count()).select_from(record_pins).where(
            record_pins.c.case_id == case_id)).scalar_one())
    record_id = f"case-{case_id}-{n}"
    row = {**_identity_copy(store, person_id), **values, "record_id": record_id,
           "record_date": on.isoformat()}
    decl = declare_office(ws, name)
    path = office_file(ws, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    before = path.read_text(encoding="utf-8") if path.exists() else None
    with store.engine.begin() as conn:
        conn.execute(record_pins.insert().values(source=name, record_id=record_id,
                                                 person_id=person_id, case_id=case_id))
    try:
        text = (before or _csv_text([])) + _csv_text([row], header=False)
        tmp = path.with_suffix(".csv.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        ingest_file(store, profile, decl, path, ws.archive_dir)
    except BaseException:
        if before is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(before, encoding="utf-8")
        with store.engine.begin() as conn:
            conn.execute(record_pins.delete().where(record_pins.c.source == name,
                                                    record_pins.c.record_id == record_id))
        raise
    return name, record_id
