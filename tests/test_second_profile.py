"""A jurisdiction is configuration: the Latinia profile runs the same pipeline."""

from __future__ import annotations

import shutil

from conftest import Register
from helpers import declare, flags, records


def test_latinia_workspace_ingests_with_its_own_rules(register, tmp_path):
    lat = Register(tmp_path / "latinia", register.database_url.replace("ws", "latinia"),
                   register.capsys, register.monkeypatch)
    register.ok("init", lat.root, "--profile", "latinia")
    extract = tmp_path / "citizens.csv"
    extract.write_text(
        "NO,SURNAME,FIRST,CITIZEN,PASS,TAXREF,PROVINCE\n"
        "1,MÜLLER,anna,1622678280,XZ1096145,T51771803,North\n"
        "2,O'Brien,Seán,1622678281,1234567,51771803,Narnia\n",
        encoding="utf-8",
    )
    lat.ok("sources", "add", declare(tmp_path / "s.toml", registry={
        "format": "csv", "record_id": "NO",
        "fields": {"family_name": "SURNAME", "given_name": "FIRST", "national_id": "CITIZEN",
                   "passport_no": "PASS", "tax_id": "TAXREF", "region": "PROVINCE"}}))
    lat.ok("ingest", "registry", extract)
    store = lat.store()
    recs = records(store, "registry")
    one = recs["1"]
    assert (one["national_id"], one["passport_no"], one["tax_id"], one["region"]) == (
        "1622678280", "XZ1096145", "T51771803", "N")
    assert one["family_name"] == "Müller" and one["given_name"] == "Anna"
    profile = lat.workspace().profile()
    assert one["family_key"] == profile.names.key("Muller")  # diacritics fold away
    assert flags(store, "registry") == {
        ("2", "national_id", "bad_check_digits", "1622678281"),
        ("2", "passport_no", "bad_format", "1234567"),
        ("2", "tax_id", "bad_format", "51771803"),
        ("2", "region", "unknown_region", "Narnia"),
    }
    lat.close()


def test_a_profile_folder_is_found_where_it_was_typed(register, tmp_path, monkeypatch):
    # `muster init ws --profile mine` looked for ws/mine: a folder beside the user, as
    # every other path on the command line is, was "neither a built-in profile nor a
    # folder with a profile.toml".
    from muster.profile import load_profile

    latinia = load_profile("latinia")
    shutil.copytree(latinia.path, tmp_path / "profiles" / "mine")
    monkeypatch.chdir(tmp_path / "profiles")
    mine = Register(tmp_path / "mine-ws", register.database_url.replace("ws", "mine-ws"),
                    register.capsys, register.monkeypatch)
    register.ok("init", mine.root, "--profile", "mine")
    monkeypatch.chdir(tmp_path)  # and the workspace finds it from anywhere
    assert mine.workspace().profile().identifiers == latinia.identifiers
    missing = register.run("init", tmp_path / "third", "--profile", "nowhere")
    assert missing.exit_code != 0 and str(tmp_path / "nowhere") in missing.err
    mine.close()
