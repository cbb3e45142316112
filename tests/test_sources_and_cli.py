"""Declaring sources and using the command line as an operator would."""

from __future__ import annotations

import tomllib

import pytest

from helpers import declare
from muster.cli import app, main


def _command_paths() -> list[list[str]]:
    paths = [[c.name or c.callback.__name__.replace("_", "-")] for c in app.registered_commands]
    for group in app.registered_groups:
        for command in group.typer_instance.registered_commands:
            name = command.name or command.callback.__name__.replace("_", "-")
            paths.append([group.name, name])
    return paths


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p))
def test_every_command_has_help_with_an_example(path, capsys):
    try:
        main([*path, "--help"])
    except SystemExit as exc:
        assert exc.code in (0, None)
    out = capsys.readouterr().out
    assert "Example" in out, f"`muster {' '.join(path)} --help` shows no example"


def test_sources_add_reports_every_problem_at_once(register, tmp_path):
    before = (register.root / "muster.toml").read_text()
    bad = declare(tmp_path / "bad.toml", voters={
        "format": "xls", "encoding": "klingon", "date_format": "%d.%m", "delimeter": ";",
        "fields": {"surname": "FAM", "birth_date": "DR"},
        "values": {"sex": {"М": "male"}},
    })
    result = register.run("sources", "add", bad)
    assert result.exit_code != 0
    for expected in ("format = 'xls'", "'klingon' is not a known codec", "no record_id",
                     "date_format = '%d.%m'", "'surname' is not a canonical field",
                     "family_name", "unknown setting 'delimeter'", "sex takes M, F"):
        assert expected in result.err, f"missing problem report: {expected}"
    assert "7 problem(s)" in result.err or "8 problem(s)" in result.err
    assert (register.root / "muster.toml").read_text() == before, "nothing merged on error"
    # A name too long for the register (PostgreSQL failed the first ingest), and one
    # whose records could not be named SOURCE:RECORD_ID.
    names = declare(tmp_path / "names.toml", **{
        name: {"format": "csv", "record_id": "id", "fields": {"family_name": "f"}}
        for name in ("s" * 101, "tax:2024")})
    result = register.run("sources", "add", names)
    assert result.exit_code != 0 and "2 problem(s)" in result.err
    assert "a source's name is 1 to 100 characters (this one has 101)" in result.err
    assert "[sources.tax:2024]: a source's name cannot hold a colon" in result.err


def test_sources_add_merges_and_replaces(register, tmp_path):
    first = declare(tmp_path / "a.toml", voters={
        "format": "csv", "record_id": "ID", "fields": {"family_name": "FAM"}},
        tax={"format": "parquet", "record_id": "INN_ROW", "fields": {"tax_id": "INN"}})
    out = register.ok("sources", "add", first)
    assert "Added source voters" in out and "Added source tax" in out
    second = declare(tmp_path / "b.toml", voters={
        "format": "csv", "record_id": "NO", "fields": {"family_name": "FAM"}})
    assert "Replaced the declaration of source voters" in register.ok("sources", "add", second)
    config = tomllib.loads((register.root / "muster.toml").read_text())
    assert config["sources"]["voters"]["record_id"] == "NO"
    assert config["sources"]["tax"]["format"] == "parquet"
    assert "voters" in register.ok("sources", "list")


def test_sources_add_says_which_fields_the_trust_order_leaves_it_out_of(register, tmp_path):
    # A clinic's "unfit" loses to the health ministry's "fit" when the profile's trust
    # order for fitness_category lists only the ministry: nothing said so.
    clinic = declare(tmp_path / "clinic.toml", clinic={
        "format": "csv", "record_id": "ID", "fields": {
            "full_name": "FIO", "fitness_category": "KAT", "address": "ADR",
            "record_date": "D"}})
    out = " ".join(register.ok("sources", "add", clinic).split())
    assert ("clinic is not in the profile's trust order for family_name, given_name, "
            "middle_name, fitness_category:") in out
    assert "[resolution.trust]" in out
    health = declare(tmp_path / "health.toml", health={  # the ministry itself: listed
        "format": "csv", "record_id": "ID", "fields": {"fitness_category": "KAT"}})
    assert "trust order" not in register.ok("sources", "add", health)


def test_commands_outside_a_workspace_say_how_to_make_one(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["status"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "not a muster workspace" in err and "muster init" in err


EXPORTS = [("callup", "1"), ("candidates", "1"), ("cases",),
           ("eligibility", "--as-of", "2024-06-01"), ("quarantine",), ("links",), ("persons",)]


@pytest.mark.parametrize("export", EXPORTS, ids=lambda e: e[0])
def test_an_export_to_a_place_it_cannot_write_is_refused_before_any_work(register, tmp_path,
                                                                          export):
    # Was: "Unexpected error: FileNotFoundError" (or IsADirectoryError) after the export.
    (tmp_path / "file").write_text("")
    for out, says in ((tmp_path / "file" / "such.csv", "cannot make the folder"),
                      (tmp_path, "is a folder; name a file in it")):
        result = register.run("export", *export, "--out", out)
        assert result.exit_code == 2 and "Invalid value for '--out'" in result.err
        assert says in result.err and "Unexpected" not in result.err


def test_init_refuses_an_existing_workspace(register):
    result = register.run("init", register.root)
    assert result.exit_code != 0 and "already a muster workspace" in result.err
    a_file = register.root / "muster.toml"  # was: "Unexpected error: FileExistsError"
    result = register.run("init", a_file)
    assert result.exit_code == 2 and f"Cannot make the workspace folder {a_file}" in result.err


def test_serve_refuses_a_port_that_does_not_exist(register):
    # Uvicorn took 99999 and listened on another port, printing the wrong address.
    result = register.run("serve", "--port", "99999")
    assert result.exit_code == 2 and "less than or equal to 65535" in result.err


def test_status_shows_sources_counts_and_flags(register, tmp_path):
    extract = tmp_path / "v.csv"
    extract.write_text("ID;SNILS\n1;112-233-445 95\n2;000\n2;001\n")
    register.ok("sources", "add", declare(tmp_path / "s.toml", voters={
        "format": "csv", "delimiter": ";", "record_id": "ID",
        "fields": {"national_id": "SNILS"}}, tax={
        "format": "csv", "record_id": "ID", "fields": {"tax_id": "INN"}}))
    register.ok("ingest", "voters", extract)
    out = register.ok("status")
    row = next(line for line in out.splitlines() if "voters" in line)
    assert "national_id:bad_format 1" in row
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert cells[:2] == ["voters", "1"] and cells[3:6] == ["2", "1", "1"]
    assert "never" in next(line for line in out.splitlines() if "tax" in line)
