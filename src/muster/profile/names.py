"""Name normalisation and the transliteration-insensitive comparison key.

Two forms come out of one spelling:
- the *normalised* name, what the register shows: Unicode NFC, single spaces,
  one kind of hyphen, profile letter equivalences (ё→е), capitalised words;
- the *key*, what linkage compares: lower-case Latin, transliterated with the
  profile's scheme, folded by the profile's rewrite rules so that GOST 7.79,
  ICAO 9303 and BGN/PCGN spellings of one Cyrillic name agree.
The raw spelling is never replaced: ingest keeps it as evidence.

Both functions work on one value; ingest applies them to the distinct values of
a column and joins the result back, so the work grows with the vocabulary, not
with the number of rows.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

_HYPHENS = re.compile(r"\s*[-‐‑‒–—―]\s*")
_SPACES = re.compile(r"\s+")
_NOT_LETTER = re.compile(r"[^a-z]")
_VOWELS = set("аеёиоуыэюяaeiouy")
_AFTER_SOFT = set("ъьй")
# A word part: letters with their combining marks ("i̇" from lower-casing "İ" is one part).
_WORD_PART = re.compile(r"[^\W\d_](?:[^\W\d_]|[\u0300-\u036f])*")
_APOSTROPHES = "'’ʼ`"
# Latin letters NFKD does not decompose; without this they would vanish from the key.
_UNDECOMPOSED = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l",
                               "đ": "d", "ð": "d", "þ": "th", "ı": "i", "ħ": "h"})


def _capitalise_part(m: re.Match[str]) -> str:
    word, i, s = m.group(0), m.start(), m.string
    if i > 0 and s[i - 1] in _APOSTROPHES:
        # Capitalise after an apostrophe only behind a one-letter prefix (O'Brien,
        # D'Artagnan); elsewhere it is a romanised soft or hard sign (Il'in, Ol'ga, E`duard).
        one_letter = (s[i - 1] != "`" and i >= 2 and s[i - 2].isalpha()
                      and (i == 2 or not s[i - 3].isalpha()))
        if not one_letter:
            return word
    return word.capitalize()


@dataclass(frozen=True)
class Scheme:
    name: str
    title: str
    letters: dict[str, str]
    initial: dict[str, str] = field(default_factory=dict)

    def romanise(self, text: str) -> str:
        """Transliterate Cyrillic in ``text``; other characters pass through."""
        out: list[str] = []
        previous = ""
        for ch in text:
            lower = ch.lower()
            starts_word = not previous.isalpha() or previous.lower() in _VOWELS | _AFTER_SOFT
            latin = self.initial.get(lower) if starts_word else None
            if latin is None:
                latin = self.letters.get(lower)
            if latin is None:
                out.append(ch)
            elif ch.isupper() and latin:
                out.append(latin[0].upper() + latin[1:])
            else:
                out.append(latin)
            previous = ch
        return "".join(out)


@dataclass(frozen=True)
class NameRules:
    transliteration: str
    schemes: dict[str, Scheme]
    equivalent_letters: dict[str, str]
    fold_consonants: tuple[tuple[str, str], ...]
    fold_vowels: tuple[tuple[str, str], ...]

    def normalise(self, raw: str | None) -> str | None:
        if raw is None:
            return None
        text = unicodedata.normalize("NFC", raw)
        text = _SPACES.sub(" ", text).strip()
        text = _HYPHENS.sub("-", text).strip("-")
        for letter, same in self.equivalent_letters.items():
            text = text.replace(letter, same)
        if not text:
            return None
        if text != text.upper() and text != text.lower():
            return text  # written with care ("Гусейн оглы"): keep the writer's case
        # ALL CAPS or all lower: capitalise each part (also after hyphens, apostrophes).
        return _WORD_PART.sub(_capitalise_part, text.lower())

    def key(self, raw: str | None) -> str | None:
        """Comparison key: equal for spellings of one name in any script or scheme."""
        normal = self.normalise(raw)
        if normal is None:
            return None
        text = normal.lower()
        if self.transliteration:
            text = self.schemes[self.transliteration].romanise(text)
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
        text = _NOT_LETTER.sub("", text.lower().translate(_UNDECOMPOSED))
        for old, new in (*self.fold_consonants, *self.fold_vowels):
            while old in text:  # to a fixed point: "iii" folds like "ii"
                text = text.replace(old, new)
        return text or None

    def romanise(self, text: str, scheme: str) -> str:
        """Spell a name in one of the profile's schemes (used by synthetic data)."""
        return self.schemes[scheme].romanise(text)
