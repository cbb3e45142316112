"""The accepted source records, loaded from the store into DuckDB for linkage.

Each record gets a dense integer ``rid`` (Splink's unique id) and the derived
columns the comparisons use: the birth date as ISO text (for typo and day/month
swap levels) and the address as a list of word tokens.
"""

from __future__ import annotations

import duckdb

from muster.store.bulk import BulkConnection
from muster.store.schema import STORED_FIELDS

ADDRESS_STOPWORDS = ("г", "ул", "д", "кв", "пр", "т", "пр-т", "g", "ul", "d", "kv")
RECORD_COLUMNS = ("source", "record_id", "batch_id", *STORED_FIELDS,
                  "family_key", "given_key", "middle_key")


def load_records(db: BulkConnection, con: duckdb.DuckDBPyConnection) -> int:
    """Create DuckDB table ``records``; returns how many there are."""
    columns = ", ".join(RECORD_COLUMNS)
    con.register("records_arrow", db.fetch_arrow(f"SELECT {columns} FROM source_records"))
    stop = ", ".join(f"'{w}'" for w in ADDRESS_STOPWORDS)
    dates = {"birth_date", "record_date", "fitness_date", "death_date", "student_until",
             "service_end"}
    typed = ", ".join(
        f"CAST({c} AS DATE) AS {c}" if c in dates else
        f"CAST({c} AS INTEGER) AS {c}" if c in ("dependents", "batch_id") else
        f"CAST({c} AS VARCHAR) AS {c}"
        for c in RECORD_COLUMNS
    )
    con.execute(f"""
        CREATE OR REPLACE TABLE records AS
        SELECT row_number() OVER (ORDER BY source, record_id) AS rid, *,
          strftime(birth_date, '%Y-%m-%d') AS birth_text,
          list_filter(regexp_split_to_array(lower(address), '[^[:alnum:]-]+'),
                      lambda t: length(t) > 0 AND t NOT IN ({stop})) AS address_tokens
        FROM (SELECT {typed} FROM records_arrow)
    """)
    con.unregister("records_arrow")
    return int(con.execute("SELECT count(*) FROM records").fetchall()[0][0])
