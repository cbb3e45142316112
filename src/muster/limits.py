"""The largest values the register's columns hold, for the places that take them from
users: checked there, so that both databases store (or refuse) the same. No imports:
the command line reads these before it loads anything heavy."""

# The longest name of a source, an account, a law (its name and version) or a profile.
NAME_LENGTH = 100

# The largest number an INTEGER column holds on PostgreSQL (a quota, an offset).
MAX_INTEGER = 2**31 - 1

# The largest id of a row (a plan, a case, a notice, a review pair): a larger one is no
# row, and overflowed SQLite's and DuckDB's integers.
MAX_ID = MAX_INTEGER
