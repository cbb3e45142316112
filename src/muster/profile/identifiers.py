"""Identifier schemes: format and check digits, as the profile declares them."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from muster.errors import ConfigError
from muster.profile.checks import ALGORITHMS, CheckAlgorithm

IDENTIFIER_FIELDS = ("national_id", "tax_id", "passport_no")
# Formatting agencies add and the contract says to ignore: every Unicode space (also
# the no-break spaces of spreadsheet exports), every dash, dots and slashes. One
# explicit list serves Python and DuckDB, whose regex `\s` means different sets.
SEPARATOR_CHARS = (
    "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
    + "./\u2010\u2011\u2012\u2013\u2014\u2015\u2212-"
)
_SEPARATORS = re.compile("[" + re.escape(SEPARATOR_CHARS) + "]")
SEPARATORS_SQL = "[" + "".join(f"\\x{{{ord(c):04x}}}" for c in SEPARATOR_CHARS) + "]"  # RE2
_ASCII_LOWER = "abcdefghijklmnopqrstuvwxyz"
_ASCII_UPPER = str.maketrans(_ASCII_LOWER, _ASCII_LOWER.upper())


@dataclass(frozen=True)
class IdentifierSpec:
    field: str
    label: str
    pattern: str  # full-match regex on the cleaned value
    check: CheckAlgorithm
    display: str

    @staticmethod
    def clean(raw: str | None) -> str | None:
        if raw is None:
            return None
        # ASCII letters only: str.upper() turns "ß" into "SS", DuckDB's upper() does not.
        cleaned = _SEPARATORS.sub("", raw).translate(_ASCII_UPPER)
        return cleaned or None

    def problem(self, raw: str | None) -> str | None:
        """Why ``raw`` is not a valid identifier, or None when it is (or is empty)."""
        cleaned = self.clean(raw)
        if cleaned is None:
            return None
        if not re.fullmatch(self.pattern, cleaned):
            return "bad_format"
        if not self.check.is_valid(cleaned):
            return "bad_check_digits"
        return None

    def is_valid(self, raw: str | None) -> bool:
        return self.clean(raw) is not None and self.problem(raw) is None

    def clean_sql(self, expr: str) -> str:
        stripped = f"regexp_replace({expr}, '{SEPARATORS_SQL}', '', 'g')"
        upper = f"translate({stripped}, '{_ASCII_LOWER}', '{_ASCII_LOWER.upper()}')"
        return f"nullif({upper}, '')"

    def format_ok_sql(self, cleaned: str) -> str:
        return f"regexp_full_match({cleaned}, '{self.pattern}')"

    def check_ok_sql(self, cleaned: str) -> str:
        return self.check.valid_sql(cleaned)

    def generate(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` valid identifiers (synthetic data); unique with high probability."""
        digits_match = re.fullmatch(r"\[0-9\]\{(\d+)\}", self.pattern)
        if digits_match is None:
            return self._generate_from_display(rng, n)
        length = int(digits_match.group(1))
        body_length = self.check.body_length or length - (0 if self.check.name == "none" else 1)
        body = rng.integers(0, 10, size=(n, body_length), dtype=np.int64)
        body[:, 0] = rng.integers(1, 10, size=n)  # no leading zero: fewer look-alikes
        full = self.check.complete(body)
        return _digits_to_strings(full)

    def _generate_from_display(self, rng: np.random.Generator, n: int) -> np.ndarray:
        # Patterns like "T[0-9]{8}" or "[A-Z]{2}[0-9]{7}": fill '#' with digits, 'A' with
        # letters, keep other characters of the display template.
        letters = np.array(list("ABCDEFGHJKLMNPRSTUVWXYZ"))
        columns = []
        for ch in self.display:
            if ch == "#":
                columns.append(rng.integers(0, 10, size=n).astype("U1"))
            elif ch == "A":
                columns.append(letters[rng.integers(0, len(letters), size=n)])
            else:
                columns.append(np.full(n, ch))
        out = columns[0]
        for col in columns[1:]:
            out = np.char.add(out, col)
        return out


def _digits_to_strings(digits: np.ndarray) -> np.ndarray:
    as_chars = (digits.astype(np.uint8) + ord("0")).astype(np.uint8)
    return np.frombuffer(as_chars.tobytes(), dtype=f"S{digits.shape[1]}").astype("U")


def spec_from_toml(field: str, data: dict[str, object]) -> IdentifierSpec:
    check_name = str(data.get("check", "none"))
    if check_name not in ALGORITHMS:
        raise ConfigError(
            f"Identifier {field!r} names an unknown check algorithm {check_name!r}.",
            hint=f"Use one of: {', '.join(sorted(ALGORITHMS))}.",
        )
    digits = data.get("digits")
    pattern = f"[0-9]{{{int(str(digits))}}}" if digits is not None else str(data["pattern"])
    return IdentifierSpec(
        field=field,
        label=str(data.get("label", field)),
        pattern=pattern,
        check=ALGORITHMS[check_name],
        display=str(data.get("display", "")),
    )
