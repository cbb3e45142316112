"""A jurisdiction is configuration: the Latinia profile runs the same pipeline."""

from __future__ import annotations

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
