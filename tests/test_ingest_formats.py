"""Every shape of extract the contract allows arrives as the same canonical records."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from helpers import declare, records

D = dt.date
NAMES = {"family_name": "FAM", "given_name": "IM", "middle_name": "OTCH"}


def _ingest(register, tmp_path: Path, name: str, decl: dict, filename: str, data: bytes) -> str:
    extract = tmp_path / filename
    extract.write_bytes(data)
    register.ok("sources", "add", declare(tmp_path / f"{name}.toml", **{name: decl}))
    return register.ok("ingest", name, extract)


def test_cp1251_semicolon_csv_with_day_first_dates(register, tmp_path):
    text = "ID;FAM;IM;OTCH;DR\n001;Иванов;Пётр;Сергеевич;05.03.1999\n"
    _ingest(register, tmp_path, "voters", {
        "format": "csv", "encoding": "cp1251", "delimiter": ";", "record_id": "ID",
        "date_format": "%d.%m.%Y", "fields": {**NAMES, "birth_date": "DR"},
    }, "v.csv", text.encode("cp1251"))
    rec = records(register.store(), "voters")["001"]
    assert (rec["family_name"], rec["given_name"], rec["middle_name"]) == (
        "Иванов", "Петр", "Сергеевич")  # ё folded to е for comparison; raw keeps Пётр
    assert rec["birth_date"] == D(1999, 3, 5) or rec["birth_date"] == "1999-03-05"
    assert "Пётр" in rec["raw"]


def test_a_two_digit_year_of_the_past_is_in_the_past(register, tmp_path):
    # strptime reads "65" as 2065, a future birth date flagged and dropped: everyone
    # born 1960-1968 lost their birth date. A date that may lie ahead keeps strptime's
    # reading.
    text = ("ID;FAM;DR;FIT;STUD\n1;Иванов;01.02.65;01.02.25;30.06.28\n"
            "2;Петров;03.04.05;03.04.65;30.06.29\n3;Сидоров;05.06.99;05.06.99;\n")
    _ingest(register, tmp_path, "health", {
        "format": "csv", "delimiter": ";", "record_id": "ID", "date_format": "%d.%m.%y",
        "fields": {"family_name": "FAM", "birth_date": "DR", "fitness_date": "FIT",
                   "student_until": "STUD"},
    }, "h.csv", text.encode())
    recs = records(register.store(), "health")
    assert {rid: str(r["birth_date"]) for rid, r in recs.items()} == {
        "1": "1965-02-01", "2": "2005-04-03", "3": "1999-06-05"}
    assert str(recs["2"]["fitness_date"]) == "1965-04-03"
    assert str(recs["1"]["student_until"]) == "2028-06-30"  # ahead, as read
    assert all(r["flags"] == 0 for r in recs.values())


def test_utf8_bom_is_ignored_whatever_the_declared_encoding(register, tmp_path):
    for name, encoding in (("bom_utf8", "utf-8"), ("bom_cp1251", "cp1251")):
        text = "ID,FAM\n7,Smith\n"
        body = text.encode("utf-8")
        _ingest(register, tmp_path, name, {
            "format": "csv", "encoding": encoding, "record_id": "ID",
            "fields": {"family_name": "FAM"},
        }, f"{name}.csv", b"\xef\xbb\xbf" + body)
        rec = records(register.store(), name)
        assert list(rec) == ["7"], f"BOM leaked into the header for {encoding}"
        assert rec["7"]["family_name"] == "Smith"


def test_tab_and_pipe_delimiters_and_compact_dates(register, tmp_path):
    for name, delim in (("tabbed", "\t"), ("piped", "|")):
        text = delim.join(["ID", "FAM", "DR"]) + "\n" + delim.join(["A1", "Petrov", "19990305"])
        _ingest(register, tmp_path, name, {
            "format": "csv", "delimiter": delim, "record_id": "ID", "date_format": "%Y%m%d",
            "fields": {"family_name": "FAM", "birth_date": "DR"},
        }, f"{name}.csv", text.encode())
        rec = records(register.store(), name)["A1"]
        assert str(rec["birth_date"]) == "1999-03-05"


def test_lines_ended_by_a_carriage_return_alone(register, tmp_path):
    # Read as they were, the whole file was one line, taken for the header: the ingest
    # failed with an unexpected error.
    rows = ["ID;FAM;DR", "1;Иванов;05.03.1999", '2;"Петров\rмл.";06.04.1998', "3;Орлов;"]
    for name, ending in (("cr", "\r"), ("lf", "\n")):
        out = _ingest(register, tmp_path, name, {
            "format": "csv", "delimiter": ";", "record_id": "ID", "date_format": "%d.%m.%Y",
            "fields": {"family_name": "FAM", "birth_date": "DR"},
        }, f"{name}.csv", (ending.join(rows) + ending).encode())
        assert "read 3 = accepted 3" in out
    cr, lf = records(register.store(), "cr"), records(register.store(), "lf")
    assert {i: r["line"] for i, r in cr.items()} == {"1": 2, "2": 3, "3": 5}  # value over 2
    assert [(cr[i]["family_name"], cr[i]["birth_date"]) for i in "123"] == [
        (lf[i]["family_name"], lf[i]["birth_date"]) for i in "123"]


def test_gzip_compressed_extracts_read_as_the_same_rows(register, tmp_path):
    rows = "".join(f"{i};Иванов{i};05.03.1999\n" for i in range(1, 400))
    text = ("ID;FAM;DR\n" + rows).encode("cp1251")
    packed = gzip.compress(text)
    out = _ingest(register, tmp_path, "voters", {
        "format": "csv", "encoding": "cp1251", "delimiter": ";", "record_id": "ID",
        "date_format": "%d.%m.%Y", "fields": {"family_name": "FAM", "birth_date": "DR"},
    }, "v.csv.gz", packed)
    assert "read 399 = accepted 399" in out
    assert records(register.store(), "voters")["7"]["family_name"] == "Иванов7"
    plain = tmp_path / "v.csv"
    plain.write_bytes(text)
    assert "unchanged 399" in register.ok("ingest", "voters", plain)
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    result = register.run("ingest", "voters", cut)
    assert result.exit_code != 0 and "cannot be uncompressed" in result.err
    assert "nothing was stored" in result.err


def test_jsonl_with_numbers_and_missing_keys(register, tmp_path):
    lines = [
        {"id": 17, "fio": "Сидоров Иван Иванович", "born": "1990-01-02", "n": 2},
        {"id": "0018", "fio": "Сидоров"},
    ]
    data = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines).encode()
    _ingest(register, tmp_path, "health", {
        "format": "jsonl", "record_id": "id", "name_order": "family given middle",
        "fields": {"full_name": "fio", "birth_date": "born", "dependents": "n"},
    }, "h.jsonl", data)
    recs = records(register.store(), "health")
    assert set(recs) == {"17", "0018"}
    assert recs["17"]["dependents"] == 2
    assert recs["0018"]["given_name"] is None and recs["0018"]["family_name"] == "Сидоров"
    assert json.loads(recs["17"]["raw"])["fio"] == "Сидоров Иван Иванович"


def test_parquet_integer_and_float_record_ids_become_decimal_digits(register, tmp_path):
    table = pa.table({
        "rid": pa.array([123, 4500000000], pa.int64()),
        "fid": pa.array([7.0, 8.0], pa.float64()),
        "fam": ["Kuznetsov", "Orlov"],
        "born": pa.array([D(1980, 1, 31), None], pa.date32()),
    })
    pq.write_table(table, tmp_path / "p.parquet")
    register.ok("sources", "add", declare(tmp_path / "p.toml", passports={
        "format": "parquet", "record_id": "rid",
        "fields": {"family_name": "fam", "birth_date": "born"},
    }, floaty={"format": "parquet", "record_id": "fid", "fields": {"family_name": "fam"}}))
    register.ok("ingest", "passports", tmp_path / "p.parquet")
    register.ok("ingest", "floaty", tmp_path / "p.parquet")
    recs = records(register.store(), "passports")
    assert set(recs) == {"123", "4500000000"}
    assert str(recs["123"]["birth_date"]) == "1980-01-31"
    assert recs["123"]["line"] == 1  # the row number from 1 in a Parquet file
    assert set(records(register.store(), "floaty")) == {"7", "8"}


def test_record_id_is_kept_exactly_as_text(register, tmp_path):
    _ingest(register, tmp_path, "ids", {
        "format": "csv", "record_id": "ID", "fields": {"family_name": "FAM"},
    }, "ids.csv", b"ID,FAM\n000123,A\n123,B\n1e3,C\n")
    assert set(records(register.store(), "ids")) == {"000123", "123", "1e3"}


def test_full_name_split_with_extra_and_missing_words(register, tmp_path):
    text = ("ID;FIO\n1;Мамедов Али Гусейн оглы\n2;Петров  Иван\n3;Сидоров\n"
            "4;  иванов   иван   иванович \n5;Ершов И.П.\n6;Ершов И. П.\n")
    _ingest(register, tmp_path, "civil", {
        "format": "csv", "delimiter": ";", "record_id": "ID",
        "name_order": "family given middle", "fields": {"full_name": "FIO"},
    }, "c.csv", text.encode())
    recs = records(register.store(), "civil")
    parts = {k: (v["family_name"], v["given_name"], v["middle_name"]) for k, v in recs.items()}
    assert parts["1"] == ("Мамедов", "Али", "Гусейн оглы")
    assert parts["2"] == ("Петров", "Иван", None)
    assert parts["3"] == ("Сидоров", None, None)
    assert parts["4"] == ("Иванов", "Иван", "Иванович")
    assert parts["5"] == parts["6"] == ("Ершов", "И.", "П.")  # initials written together


def test_name_order_given_first(register, tmp_path):
    _ingest(register, tmp_path, "school", {
        "format": "csv", "record_id": "ID", "name_order": "given middle family",
        "fields": {"full_name": "NAME"},
    }, "s.csv", b"ID,NAME\n1,Ivan Petrovich Sidorov Jr\n")
    rec = records(register.store(), "school")["1"]
    assert (rec["given_name"], rec["middle_name"], rec["family_name"]) == (
        "Ivan", "Petrovich", "Sidorov Jr")


def test_value_maps_apply_to_any_field(register, tmp_path):
    text = "ID;POL;KAT;REG;JOB\n1;М;годен;Тверь;врач\n2;Ж;;TVE;\n"
    _ingest(register, tmp_path, "mapped", {
        "format": "csv", "delimiter": ";", "record_id": "ID",
        "fields": {"sex": "POL", "fitness_category": "KAT", "region": "REG",
                   "occupation": "JOB"},
        "values": {"sex": {"М": "M", "Ж": "F"}, "fitness_category": {"годен": "A"},
                   "region": {"Тверь": "TVE"}, "occupation": {"врач": "physician"}},
    }, "m.csv", text.encode())
    recs = records(register.store(), "mapped")
    assert (recs["1"]["sex"], recs["1"]["fitness_category"], recs["1"]["region"],
            recs["1"]["occupation"]) == ("M", "A", "TVE", "physician")
    assert recs["2"]["sex"] == "F"


def test_region_spellings_agencies_use(register, tmp_path):
    text = ("ID;REG\n1;Тверская обл.\n2;Тверская область\n3;Tverskaya oblast\n4;TVE\n"
            "5;г. Москва\n")
    _ingest(register, tmp_path, "regions", {
        "format": "csv", "delimiter": ";", "record_id": "ID", "fields": {"region": "REG"},
    }, "r.csv", text.encode())
    recs = records(register.store(), "regions")
    assert {k: v["region"] for k, v in recs.items()} == {
        "1": "TVE", "2": "TVE", "3": "TVE", "4": "TVE", "5": "MOW"}


def test_names_in_any_script_get_the_same_key(register, tmp_path):
    text = "ID,FAM,IM\n1,Щукин,Юлия\n2,SHCHUKIN,IULIIA\n3,Shhukin,Yuliya\n"
    _ingest(register, tmp_path, "scripts", {
        "format": "csv", "record_id": "ID",
        "fields": {"family_name": "FAM", "given_name": "IM"},
    }, "n.csv", text.encode())
    recs = records(register.store(), "scripts")
    assert len({(r["family_key"], r["given_key"]) for r in recs.values()}) == 1
    assert recs["2"]["family_name"] == "Shchukin"  # readable form, original kept in raw
    assert "SHCHUKIN" in recs["2"]["raw"]


def test_identifier_formatting_is_ignored(register, tmp_path):
    text = "ID;SNILS;INN;PASS\n1;112-233-445 95;500100732259;45 06 123456\n"
    _ingest(register, tmp_path, "ids2", {
        "format": "csv", "delimiter": ";", "record_id": "ID",
        "fields": {"national_id": "SNILS", "tax_id": "INN", "passport_no": "PASS"},
    }, "i.csv", text.encode())
    rec = records(register.store(), "ids2")["1"]
    assert (rec["national_id"], rec["tax_id"], rec["passport_no"]) == (
        "11223344595", "500100732259", "4506123456")
    assert rec["flags"] == 0
