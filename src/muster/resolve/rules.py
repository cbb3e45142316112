"""When two records can never be the same person, written once as SQL.

The same expression guards deterministic identifier links (a collision is flagged,
not merged), vetoes probabilistic links, and stops clustering from joining two
groups of records through a chain of links. Each reason is a short sentence that
explanations show as is.
"""

from __future__ import annotations

from muster.resolve.config import ResolutionConfig


def names_swapped(config: ResolutionConfig, a: str = "l", b: str = "r") -> str:
    """Family and given names swapped, each pair as alike as names that do not differ
    (``_names_differ``): a record with swapped names against one with a mistyped name
    is still the same person. An exact test made such a pair "different given names",
    and when the two shared a tax id, the rest of that person's records matched both
    sides alike and were all set aside as ambiguous. Unknown counts as not swapped."""
    s = config.name_similarity
    return (f"coalesce(jaro_winkler_similarity({a}.family_key, {b}.given_key) >= {s} "
            f"AND jaro_winkler_similarity({a}.given_key, {b}.family_key) >= {s}, false)")


def day_month_swapped(a: str = "l", b: str = "r") -> str:
    return (f"(year({a}.birth_date) = year({b}.birth_date) "
            f"AND month({a}.birth_date) = day({b}.birth_date) "
            f"AND day({a}.birth_date) = month({b}.birth_date))")


def _digits_swapped(number: str) -> str:
    """A number of two digits with them swapped: 12 -> 21, 3 -> 30 (months, days and
    the last two digits of a year, as written: 03 -> 30)."""
    return f"({number} % 10 * 10 + ({number} - {number} % 10) / 10)"


def digits_transposed(a: str = "l", b: str = "r") -> str:
    """Two neighbouring digits of a birth date swapped, in the day (12 and 21), the
    month (01 and 10) or the year's last two (1989 and 1998): a slip of the hand as
    common as one digit mistyped, and two characters apart to ``levenshtein``. On the
    dates' parts, as Damerau-Levenshtein costs five times as much over the millions of
    pairs these rules look at. Assumes the two dates differ."""
    ya, ma, da = (f"{part}({a}.birth_date)" for part in ("year", "month", "day"))
    yb, mb, db = (f"{part}({b}.birth_date)" for part in ("year", "month", "day"))
    return (f"(({ya} = {yb} AND {ma} = {mb} AND {da} = {_digits_swapped(db)}) "
            f"OR ({ya} = {yb} AND {da} = {db} AND {ma} = {_digits_swapped(mb)}) "
            f"OR ({ma} = {mb} AND {da} = {db} AND {ya} - {ya} % 100 = {yb} - {yb} % 100 "
            f"AND {ya} % 100 = {_digits_swapped(f'{yb} % 100')}))")


def _names_differ(key: str, config: ResolutionConfig, a: str, b: str) -> str:
    return (f"({a}.{key} <> {b}.{key} AND "
            f"jaro_winkler_similarity({a}.{key}, {b}.{key}) < {config.name_similarity})")


def _one_edit(a: str, b: str) -> str:
    """Given names one letter changed, added, dropped, or two neighbours swapped, as
    written or in their keys. Jaro-Winkler puts such a typo of a short name below
    name_similarity (Лев/Лве 0.56, Никита/Нхкита 0.84), and a typo as written can
    be two in the key (Мион: men, Олец: olets). Of the pairs the rule refused for it
    at 1,000,000 persons, some 4,300 were one person and 17 were two, none weighing
    enough to link (20.1 to 25.4)."""
    return (f"(damerau_levenshtein({a}.given_key, {b}.given_key) <= 1 OR coalesce("
            f"damerau_levenshtein(lower({a}.given_name), lower({b}.given_name)) <= 1, false))")


def common_given_names(config: ResolutionConfig, counts: str) -> str:
    """The given name keys in common use, from ``counts(given_key, n, total)``: how
    many of the register's records carry each key, and how many carry one."""
    if config.common_name_share <= 0:
        return f"SELECT given_key FROM {counts} WHERE false"
    return (f"SELECT given_key FROM {counts} WHERE n >= {int(config.common_name_records)} "
            f"AND n >= {float(config.common_name_share)} * total")


def place_key(column: str = "birth_place") -> str:
    """A birth place compared without case and the "city" abbreviation before it;
    records.build_records keeps it as the column ``place_key`` of every record, so
    the millions of pairs the rules below look at do not each run the regex."""
    return (f"regexp_replace(lower(trim({column})), "
            f"'^(г\\.|гор\\.|город|g\\.|gorod)\\s*', '')")


def place_cyrillic(column: str = "place_key") -> str:
    """Whether a birth place is written in Cyrillic: kept per record beside the key."""
    return f"regexp_matches({column}, '[а-яё]')"


def _places_differ(config: ResolutionConfig, a: str, b: str) -> str:
    # Only within one script: "Москва" and "Moskva" are not evidence of two people.
    pa, pb = f"{a}.place_key", f"{b}.place_key"
    return (f"({pa} <> {pb} AND {a}.place_cyrillic = {b}.place_cyrillic "
            f"AND jaro_winkler_similarity({pa}, {pb}) < {config.name_similarity})")


def is_initial(name: str) -> str:
    """A name written as an initial: one letter, with or without a dot ("И.", "I").
    Plain SQL (DuckDB, SQLite, PostgreSQL): a name of no letter is no name (ingest),
    so one character is a letter."""
    return f"(length({name}) = 1 OR (length({name}) = 2 AND substr({name}, 2, 1) = '.'))"


def _initial_differs(part: str, a: str, b: str) -> str:
    """``a``'s given or middle name (``part``) is an initial that ``b``'s cannot begin
    with. In one script the letters are compared; across scripts ("I." and "Иванович")
    the keys, one the start of the other. That is lax where a letter's key begins
    another's (И "i", Я "ia"): "I." may be Иван or Яков, as ICAO writes Я "ia"."""
    mine, theirs = f"{a}.{part}_name", f"{b}.{part}_name"
    initial, other = f"{a}.{part}_initial", f"coalesce({b}.{part}_key, {b}.{part}_initial)"
    latin = "regexp_matches(left({}, 1), '[A-Za-z]')"
    return (f"({initial} IS NOT NULL AND {theirs} IS NOT NULL "
            f"AND lower(left({mine}, 1)) <> lower(left({theirs}, 1)) "
            f"AND NOT ({latin.format(mine)} <> {latin.format(theirs)} "
            f"AND (starts_with({other}, {initial}) OR starts_with({initial}, {other}))))")


NAMES_ALONE = ("nothing but the names agrees (birth years differ or one is missing, "
               "and neither region nor address agrees)")


def names_alone(a: str = "l", b: str = "r") -> str:
    """Whether nothing but the names (and perhaps the day and month of birth) agrees:
    the two records' birth years differ or one is missing, and neither the region nor
    the address agrees. Rare full names weigh enough to link by themselves
    (two records with family and given names swapped, exact on both: +34), and
    namesakes born on one day of different years are families, not slips: at 1,000,000
    persons such a pair put a student's enrolment into his namesake's file, and the
    student was eligible. Such a pair goes to review, whatever its weight."""
    agree = (f"coalesce(year({a}.birth_date) = year({b}.birth_date), false) "
             f"OR coalesce({a}.region = {b}.region, false) "
             f"OR coalesce({a}.address_key = {b}.address_key, false)")
    return f"(NOT ({agree}))"


# Reasons about how the two were born, which no misspelling or second identifier
# explains: persons whose records differ so (outcomes._persons_apart) are two people.
DIFFERENT_SEX = "different sex"
DEAD_BEFORE_BORN = "one died before the other was born"
BIRTH_DATES = "incompatible birth dates"
BIRTH_PLACES = "different birth places"
BIRTH_FACTS = (DIFFERENT_SEX, DEAD_BEFORE_BORN, BIRTH_DATES, BIRTH_PLACES)


def conflict_sql(config: ResolutionConfig, a: str = "l", b: str = "r",
                 only: tuple[str, ...] | None = None) -> str:
    """NULL when the two records may be one person; otherwise why they cannot be
    (the first reason that applies, of those in ``only`` if given)."""
    checks = [
        (f"{a}.{f} <> {b}.{f} AND NOT list_contains({a}.disputed_ids, '{f}') "
         f"AND NOT list_contains({b}.disputed_ids, '{f}')", f"different {f}")
        for f in config.unique_identifiers
    ]
    checks += [
        (f"{a}.sex <> {b}.sex", DIFFERENT_SEX),
        # A father dead before the son named after him was born: the civil record of
        # his death, without a birth date, otherwise went to review and held the son.
        (f"{a}.death_date < {b}.birth_date OR {b}.death_date < {a}.birth_date",
         DEAD_BEFORE_BORN),
        (f"{a}.birth_date <> {b}.birth_date AND NOT {day_month_swapped(a, b)} "
         f"AND levenshtein({a}.birth_text, {b}.birth_text) > 1 "
         f"AND NOT {digits_transposed(a, b)}", BIRTH_DATES),
        (f"(({_names_differ('given_key', config, a, b)} AND NOT {_one_edit(a, b)})"
         f" OR ({a}.given_key <> {b}.given_key AND {a}.given_common AND {b}.given_common))"
         f" AND NOT {names_swapped(config, a, b)}", "different given names"),
        (f"{_initial_differs('given', a, b)} OR {_initial_differs('given', b, a)}",
         "different given names"),
        (_names_differ("middle_key", config, a, b), "different middle names"),
        (f"{_initial_differs('middle', a, b)} OR {_initial_differs('middle', b, a)}",
         "different middle names"),
        (_places_differ(config, a, b), BIRTH_PLACES),
    ]
    cases = " ".join(f"WHEN {cond} THEN '{reason}'" for cond, reason in checks
                     if only is None or reason in only)
    return f"(CASE {cases} END)"
