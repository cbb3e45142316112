"""Bad input never costs a good row, never disappears, and counts always reconcile."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from helpers import declare, flags, quarantined, read_csv, records

DECL = {
    "format": "csv", "delimiter": ";", "record_id": "ID", "date_format": "%d.%m.%Y",
    "fields": {"family_name": "FAM", "birth_date": "DR", "sex": "POL", "national_id": "SNILS",
               "tax_id": "INN", "region": "REG", "fitness_category": "FIT",
               "dependents": "DEP"},
    "values": {"sex": {"М": "M", "Ж": "F"}},
}
HEADER = "ID;FAM;DR;POL;SNILS;INN;REG;FIT;DEP"


def _setup(register, tmp_path: Path, body: str, encoding: str = "utf-8") -> tuple[Path, str]:
    extract = tmp_path / "x.csv"
    extract.write_bytes((HEADER + "\n" + body).encode(encoding, errors="strict"))
    register.ok("sources", "add", declare(tmp_path / "s.toml", src=DECL))
    return extract, register.ok("ingest", "src", extract)


def test_quarantine_reasons_lines_and_reconciled_counts(register, tmp_path):
    body = (
        "1;Иванов;01.02.1990;М;;;;A;0\n"           # line 2: fine
        "2;Петров;01.02.1990;М;;;;A;0\n"           # line 3: fine
        "2;Петров;01.02.1990;М;;;;A;0\n"           # line 4: identical repeat
        "2;Сидоров;03.04.1991;М;;;;A;0\n"          # line 5: same id, different content
        ";Безымянный;01.02.1990;М;;;;A;0\n"        # line 6: no record_id
        "3;too;few\n"                               # line 7: not a row
        "4;Орлов;\"multi\nline\";М;;;;A;0\n"       # lines 8-9: one row over two lines
        "5;Львов;01.02.1990;М;;;;A;0;extra\n"      # line 10: too many fields
    )
    _, out = _setup(register, tmp_path, body)
    store = register.store()
    assert set(records(store, "src")) == {"1", "2", "4"}
    assert records(store, "src")["2"]["family_name"] == "Петров"  # the first one stands
    q = quarantined(store, "src")
    assert [(line, rid) for line, rid, _ in q] == [(5, "2"), (6, ""), (7, None), (10, None)]
    reasons = [reason for _, _, reason in q]
    assert "repeats line 3 with different content" in reasons[0]
    assert reasons[1] == "missing record_id"
    assert "3 fields where the header has 9" in reasons[2]
    assert "10 fields where the header has 9" in reasons[3]
    assert "read 8 = accepted 3 + repeated 1 + quarantined 4" in out


def test_a_quote_left_open_costs_only_its_own_line(register, tmp_path):
    # A stray quote made every line after it part of one value, up to the next stray
    # quote: one quarantined "row" of many lines, the good rows in it unread.
    body = (
        "1;Иванов;01.02.1990;М;;;;A;0\n"            # line 2: fine
        "2;О\"Брайен;01.02.1990;М;;;;A;0\n"         # line 3: a quote left open
        "3;Петров;01.02.1990;М;;;;A;0\n"            # line 4: fine
        "4;Орлов;\"multi\nline\";М;;;;A;0\n"        # lines 5-6: one row over two lines
        "5;\"Львов;01.02.1990;М;;;;A;0\n"           # line 7: another
        "6;\"Сидоров\";03.04.1991;М;;;;A;0\n"        # line 8: fine, quoted
        "7;Смирнов;05.06.1992;Ж;;;;A;0\n"           # line 9: fine
    )
    _, out = _setup(register, tmp_path, body)
    store = register.store()
    assert set(records(store, "src")) == {"1", "3", "4", "6", "7"}
    assert records(store, "src")["6"]["family_name"] == "Сидоров"
    q = quarantined(store, "src")
    assert [line for line, _, _ in q] == [3, 7]
    assert all("a quote opened on this line is not closed" in r for _, _, r in q)
    assert "read 7 = accepted 5 + repeated 0 + quarantined 2" in out


def test_field_problems_flag_the_record_and_keep_the_raw_value(register, tmp_path):
    body = (
        "1;Иванов;31.02.1990;Х;112-233-445 96;12345;Нарния;Z;много\n"
        "2;Петров;01.02.2090;М;1122334459;500100732259;TVE;a;-1\n"
    )
    _setup(register, tmp_path, body)
    store = register.store()
    recs = records(store, "src")
    assert set(recs) == {"1", "2"}, "a field problem must never cost the row"
    one = recs["1"]
    assert (one["birth_date"], one["sex"], one["national_id"], one["tax_id"],
            one["fitness_category"], one["dependents"]) == (None, None, None, None, None, None)
    assert one["region"] == "Нарния"  # unknown region kept as text and flagged
    assert flags(store, "src") >= {
        ("1", "birth_date", "bad_date", "31.02.1990"),
        ("1", "sex", "unmapped_code", "Х"),
        ("1", "national_id", "bad_check_digits", "112-233-445 96"),
        ("1", "tax_id", "bad_format", "12345"),
        ("1", "region", "unknown_region", "Нарния"),
        ("1", "fitness_category", "unmapped_code", "Z"),
        ("1", "dependents", "not_a_count", "много"),
        ("2", "birth_date", "implausible_date", "01.02.2090"),
        ("2", "national_id", "bad_format", "1122334459"),
        ("2", "dependents", "not_a_count", "-1"),
    }
    two = recs["2"]
    assert two["fitness_category"] == "A"  # lower-case code accepted as the code
    assert two["tax_id"] == "500100732259" and two["region"] == "TVE"
    assert one["flags"] == 7


def test_a_date_of_the_past_cannot_lie_ahead(register, tmp_path):
    # A record_date of 2099 (an agency's "no expiry") made its record the newest, so
    # its values won the golden record; a fitness date ahead kept an examination
    # current for ever. A date that may lie ahead (student_until) stays.
    extract = tmp_path / "h.csv"
    extract.write_text("ID;FAM;FIT;DIED;ASOF;STUD\n"
                       "1;Иванов;2099-01-01;2099-01-01;2099-01-01;2099-01-01\n"
                       "2;Петров;1850-01-01;;2024-05-01;\n", encoding="utf-8")
    register.ok("sources", "add", declare(tmp_path / "h.toml", health={
        "format": "csv", "delimiter": ";", "record_id": "ID",
        "fields": {"family_name": "FAM", "fitness_date": "FIT", "death_date": "DIED",
                   "record_date": "ASOF", "student_until": "STUD"}}))
    register.ok("ingest", "health", extract)
    store = register.store()
    one, two = records(store, "health")["1"], records(store, "health")["2"]
    assert (one["fitness_date"], one["death_date"], one["record_date"]) == (None,) * 3
    assert str(one["student_until"]) == "2099-01-01"
    assert two["fitness_date"] is None and str(two["record_date"]) == "2024-05-01"
    assert {(rid, field) for rid, field, problem, _ in flags(store, "health")
            if problem == "implausible_date"} == {
        ("1", "fitness_date"), ("1", "death_date"), ("1", "record_date"),
        ("2", "fitness_date")}


def test_a_death_before_the_birth_is_flagged_and_left_out(register, tmp_path):
    # A record dying before it is born: one of the two dates is wrong. Kept, the death
    # took the person off the register as dead; the flag holds him for an officer
    # instead (eligibility's unreadable_value) and the birth date still links him.
    extract = tmp_path / "c.csv"
    extract.write_text("ID;FAM;BORN;DIED\n"
                       "1;Иванов;12.05.2004;01.03.2003\n"
                       "2;Петров;12.05.2004;12.05.2004\n"
                       "3;Орлов;;01.03.2003\n"
                       "4;Седов;31.02.2004;01.03.2003\n"
                       "5;Лосев;01.01.2090;01.03.2003\n", encoding="utf-8")
    register.ok("sources", "add", declare(tmp_path / "c.toml", civil={
        "format": "csv", "delimiter": ";", "record_id": "ID", "date_format": "%d.%m.%Y",
        "fields": {"family_name": "FAM", "birth_date": "BORN", "death_date": "DIED"}}))
    register.ok("ingest", "civil", extract)
    store = register.store()
    recs = records(store, "civil")
    assert [(str(recs[r]["birth_date"]), str(recs[r]["death_date"])) for r in "12345"] == [
        ("2004-05-12", "None"), ("2004-05-12", "2004-05-12"), ("None", "2003-03-01"),
        ("None", "2003-03-01"), ("None", "2003-03-01")]
    assert {(r, f, p) for r, f, p, _ in flags(store, "civil")} == {
        ("1", "death_date", "death_before_birth"), ("4", "birth_date", "bad_date"),
        ("5", "birth_date", "implausible_date")}  # the birth date is the wrong one


def test_a_count_is_a_whole_number_written_in_digits(register, tmp_path):
    # The database's cast read "2.5" as 3, "0x10" as 16 and "1_000" as 1000: a count
    # of dependents (a ground for deferment) changed without a flag.
    counts = {"1": "2", "2": " +3 ", "3": "2.5", "4": "0x10", "5": "1_000", "6": "2e0",
              "7": "١"}
    body = "".join(f"{rid};Иванов;01.02.1990;М;;;;A;{dep}\n" for rid, dep in counts.items())
    _setup(register, tmp_path, body)
    store = register.store()
    assert {rid: r["dependents"] for rid, r in records(store, "src").items()} == {
        "1": 2, "2": 3, "3": None, "4": None, "5": None, "6": None, "7": None}
    assert {(rid, raw) for rid, field, problem, raw in flags(store, "src")
            if (field, problem) == ("dependents", "not_a_count")} == {
        (rid, dep) for rid, dep in counts.items() if rid not in ("1", "2")}


def test_a_name_without_a_letter_is_no_name(register, tmp_path):
    # An agency that writes "?" or "0" for a patronymic it lacks gave golden records,
    # and notices, the middle name "?". Dashes were already read as no name.
    extract = tmp_path / "n.csv"
    extract.write_text("ID;FAM;IM;OTCH;FIO\n"
                       "1;Иванов;Иван;?;Петров ? Петрович\n"
                       "2;Иванов;Иван;0;Петров Пётр 1\n"
                       "3;О'Нил;Иван;N/A;Петров Пётр Петрович\n"
                       "4;Сидоров;Сидор;;Сидоров Сидор ?\n", encoding="utf-8")
    register.ok("sources", "add", declare(tmp_path / "n.toml", names={
        "format": "csv", "delimiter": ";", "record_id": "ID",
        "fields": {"family_name": "FAM", "given_name": "IM", "middle_name": "OTCH"}},
        whole={"format": "csv", "delimiter": ";", "record_id": "ID",
               "name_order": "family given middle", "fields": {"full_name": "FIO"}},
        both={"format": "csv", "delimiter": ";", "record_id": "ID",
              "name_order": "family given middle",
              "fields": {"full_name": "FIO", "middle_name": "OTCH"}}))
    for source in ("names", "whole", "both"):
        register.ok("ingest", source, extract)
    store = register.store()
    names = records(store, "names")
    assert [names[r]["middle_name"] for r in "123"] == [None, None, "N/A"]  # letters: a name
    assert names["3"]["family_name"] is not None
    whole = records(store, "whole")
    assert (whole["1"]["given_name"], whole["1"]["middle_name"]) == (None, "Петрович")
    assert (whole["2"]["given_name"], whole["2"]["middle_name"]) == ("Петр", None)
    assert flags(store, "names") == {("1", "middle_name", "not_a_name", "?"),
                                     ("2", "middle_name", "not_a_name", "0")}
    assert flags(store, "whole") == {("1", "full_name", "not_a_name", "Петров ? Петрович"),
                                     ("2", "full_name", "not_a_name", "Петров Пётр 1"),
                                     ("4", "full_name", "not_a_name", "Сидоров Сидор ?")}
    # A patronymic column left empty takes the full name's word: a flag of the full name.
    assert records(store, "both")["4"]["middle_name"] is None
    assert flags(store, "both") == {("1", "middle_name", "not_a_name", "?"),
                                    ("1", "full_name", "not_a_name", "Петров ? Петрович"),
                                    ("2", "middle_name", "not_a_name", "0"),
                                    ("4", "full_name", "not_a_name", "Сидоров Сидор ?")}


def test_a_file_without_an_accepted_row_says_so(register, tmp_path):
    # Both said "Nothing new: the register already held every accepted row".
    _, out = _setup(register, tmp_path, "")
    assert "read 0 =" in out and "The file holds no rows (a header only)" in out
    _, out = _setup(register, tmp_path, "1,Иванов,01.02.1990\n2,Петров,01.02.1990\n")
    assert "No row was accepted: all 2 went to quarantine" in out
    assert "muster quarantine list" in out and "Nothing new" not in out


def test_undecodable_bytes_quarantine_only_their_row(register, tmp_path):
    good = (HEADER + "\n1;Иванов;01.02.1990;М;;;;A;0\n").encode()
    bad = b"2;\xff\xfe\xfa;01.02.1990;\xd0;;;;A;0\n"
    extract = tmp_path / "x.csv"
    extract.write_bytes(good + bad + "3;Орлов;;;;;;;\n".encode())
    register.ok("sources", "add", declare(tmp_path / "s.toml", src=DECL))
    out = register.ok("ingest", "src", extract)
    store = register.store()
    assert set(records(store, "src")) == {"1", "3"}
    [(line, _, reason)] = quarantined(store, "src")
    assert line == 3 and "not valid in the declared encoding" in reason
    assert "quarantined 1" in out


def _quarantined_raw(store, source: str) -> list[tuple[int, str | None, str]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT line, record_id, raw FROM quarantine WHERE source = :s ORDER BY line"),
            {"s": source})]


def test_a_nul_character_quarantines_its_row_in_every_format(register, tmp_path):
    # PostgreSQL cannot store a NUL as text: the whole batch failed there, with an
    # unexpected error, and SQLite stored it.
    csv = tmp_path / "x.csv"
    csv.write_bytes((HEADER + "\n1;Иванов;01.02.1990;М;;;;A;0\n").encode()
                    + "2;Пет\0ров;01.02.1990;М;;;;A;0\n3\0;Орлов;;;;;;;\n".encode()
                    + "2;Петров;01.02.1990;М;;;;A;0\n".encode())
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_text('{"id": "a", "f": "X"}\n{"id": "b", "f": "Y\\u0000Z"}\n{"id": "c"}\n')
    parquet = tmp_path / "x.parquet"
    # Dictionary-encoded, as a categorical column is written.
    pq.write_table(pa.table({"id": ["p", "q"],
                             "f": pa.array(["ok", "n\0l"]).dictionary_encode()}), parquet)
    register.ok("sources", "add", declare(tmp_path / "s.toml", src=DECL, j={
        "format": "jsonl", "record_id": "id", "fields": {"family_name": "f"}}, p={
        "format": "parquet", "record_id": "id", "fields": {"family_name": "f"}}))
    out = register.ok("ingest", "src", csv)
    assert "read 4 = accepted 2 + repeated 0 + quarantined 2" in out
    register.ok("ingest", "j", jsonl)
    register.ok("ingest", "p", parquet)
    store = register.store()
    # The clean row of record 2 is its first: the one with a NUL does not count.
    assert set(records(store, "src")) == {"1", "2"}
    assert records(store, "src")["2"]["family_name"] == "Петров"
    assert set(records(store, "j")) == {"a", "c"} and set(records(store, "p")) == {"p"}
    assert _quarantined_raw(store, "src") == [
        (3, "2", "2;Пет␀ров;01.02.1990;М;;;;A;0"), (4, "3␀", "3␀;Орлов;;;;;;;")]
    assert _quarantined_raw(store, "j") == [(2, "b", '{"id": "b", "f": "Y\\u0000Z"}')]
    [(line, rid, raw)] = _quarantined_raw(store, "p")
    assert (line, rid) == (2, "q") and "n\\u0000l" in raw
    for source in ("src", "j", "p"):
        assert {reason for _, _, reason in quarantined(store, source)} == {
            "holds a NUL character (shown as ␀), which cannot be stored as text"}


def test_invalid_json_lines_are_quarantined_with_their_line(register, tmp_path):
    extract = tmp_path / "x.jsonl"
    extract.write_text('{"id": "a", "f": "X"}\n{"id": "b", "f": \n\n[1, 2]\n{"id": "c"}\n')
    register.ok("sources", "add", declare(tmp_path / "s.toml", j={
        "format": "jsonl", "record_id": "id", "fields": {"family_name": "f"}}))
    register.ok("ingest", "j", extract)
    store = register.store()
    assert set(records(store, "j")) == {"a", "c"}
    assert [(line, reason) for line, _, reason in quarantined(store, "j")] == [
        (2, "cannot be decoded as a row: not valid JSON"),
        (4, "cannot be decoded as a row: a JSON line must be an object"),
    ]


def test_a_json_line_naming_a_field_twice_is_quarantined(register, tmp_path):
    # DuckDB read the first of two values and Python's json reads the last: the other
    # value was dropped without a word. A repeated key the declaration does not read
    # loses nothing and is no reason to refuse the record.
    extract = tmp_path / "x.jsonl"
    extract.write_text(
        '{"id": "a", "f": "Иванов", "f": "Петров"}\n'
        '{"id": "b", "id": "c", "f": "Орлов"}\n'
        '{"id": "d", "f": "Сидоров", "note": 1, "note": 2}\n')
    register.ok("sources", "add", declare(tmp_path / "s.toml", j={
        "format": "jsonl", "record_id": "id", "fields": {"family_name": "f"}}))
    out = register.ok("ingest", "j", extract)
    assert "read 3 = accepted 1 + repeated 0 + quarantined 2" in out
    store = register.store()
    assert {r: v["family_name"] for r, v in records(store, "j").items()} == {"d": "Сидоров"}
    assert [(line, reason) for line, _, reason in quarantined(store, "j")] == [
        (1, 'cannot be decoded as a row: the key "f" appears more than once, '
            "so which of its values holds is unclear"),
        (2, 'cannot be decoded as a row: the key "id" appears more than once, '
            "so which of its values holds is unclear"),
    ]
    assert [raw for _, _, raw in _quarantined_raw(store, "j")] == [
        '{"id": "a", "f": "Иванов", "f": "Петров"}', '{"id": "b", "id": "c", "f": "Орлов"}']


def test_a_json_object_or_array_is_no_value_of_a_field(register, tmp_path):
    # A mapping that names a nested key stored its JSON text as the person's name, and
    # an object as a record_id.
    lines = [
        {"id": "1", "fio": {"family": "Иванов"}, "born": "1990-01-02"},
        {"id": "2", "fio": ["Иванов", "Иван"], "born": {"year": 1990}},
        {"id": "3", "fio": "[Иванов] Иван", "born": "1990-01-02"},  # text, kept
        {"id": {"n": 4}, "fio": "Петров Пётр"},
        {"id": [5], "fio": "Петров Пётр"},
        {"id": "[6]", "fio": "Петров Пётр"},  # text, kept
    ]
    extract = tmp_path / "x.jsonl"
    extract.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines))
    register.ok("sources", "add", declare(tmp_path / "s.toml", j={
        "format": "jsonl", "record_id": "id", "name_order": "family given middle",
        "fields": {"full_name": "fio", "birth_date": "born"}}))
    out = register.ok("ingest", "j", extract)
    store = register.store()
    recs = records(store, "j")
    assert set(recs) == {"1", "2", "3", "[6]"}
    assert [recs[r]["family_name"] for r in ("1", "2")] == [None, None]
    assert recs["2"]["birth_date"] is None and recs["3"]["family_name"] == "[Иванов]"
    assert flags(store, "j") == {
        ("1", "full_name", "not_a_value", '{"family":"Иванов"}'),
        ("2", "full_name", "not_a_value", '["Иванов","Иван"]'),
        ("2", "birth_date", "not_a_value", '{"year":1990}'),
    }
    reason = "record_id is a JSON object or array, not a text or a number"
    assert [(line, reason) for line, _, reason in quarantined(store, "j")] == [
        (4, reason), (5, reason)]
    assert "read 6 = accepted 4 + repeated 0 + quarantined 2" in out


def test_a_nested_parquet_column_is_refused_and_nothing_stored(register, tmp_path):
    extract = tmp_path / "x.parquet"
    pq.write_table(pa.table({"id": ["1"], "fio": [{"family": "Иванов"}],
                             "kids": [[1, 2]]}), extract)
    register.ok("sources", "add", declare(tmp_path / "s.toml", p={
        "format": "parquet", "record_id": "id",
        "fields": {"full_name": "fio", "dependents": "kids"}}))
    result = register.run("ingest", "p", extract)  # was: a person named "{'family':"
    assert result.exit_code != 0 and "Unexpected" not in result.err
    assert "fio (struct<family: string>)" in result.err and "kids (list<" in result.err
    assert records(register.store(), "p") == {}


def test_export_quarantine_has_the_contract_columns(register, tmp_path):
    _extract, _ = _setup(register, tmp_path, "1;A;;;;;;;\n1;B;;;;;;;\n;C;;;;;;;\n")
    out = tmp_path / "deep" / "q.csv"
    register.ok("export", "quarantine", "--out", out)
    rows = read_csv(out)
    assert list(rows[0]) == ["source", "file", "line", "record_id", "reason"]
    assert [(r["source"], r["line"], r["record_id"]) for r in rows] == [
        ("src", "3", "1"), ("src", "4", "")]
    assert rows[0]["file"].endswith("x.csv")
    listing = register.ok("quarantine", "list", "src")
    assert "missing record_id" in listing


def test_unreadable_file_or_wrong_declaration_exits_non_zero(register, tmp_path):
    register.ok("sources", "add", declare(tmp_path / "s.toml", src=DECL))
    missing = register.run("ingest", "src", tmp_path / "nope.csv")
    assert missing.exit_code != 0 and "does not exist" in missing.err
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("ID;SURNAME\n1;X\n")
    result = register.run("ingest", "src", wrong)
    assert result.exit_code != 0
    assert "FAM" in result.err and "SURNAME" in result.err  # names missing and present columns
    undeclared = register.run("ingest", "nosuch", wrong)
    assert undeclared.exit_code != 0 and "muster sources add" in undeclared.err
    no_header = tmp_path / "no_header.csv"
    no_header.write_text('ID;"FAM\n1;X\n')  # the header's quote is never closed
    result = register.run("ingest", "src", no_header)  # was: "Unexpected error: ArrowInvalid"
    assert result.exit_code != 0 and "cannot be read as a header" in result.err
    assert "nothing was stored" in result.err and "Unexpected" not in result.err
