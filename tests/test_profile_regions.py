"""Regions of the default profile: every spelling agencies use maps to one region code."""

from __future__ import annotations

import pytest

from muster.profile import load_profile
from muster.profile.regions import RegionTable

PROFILE = load_profile("default")
TABLE: RegionTable = PROFILE.regions
REGIONS = TABLE.regions


def _spellings():
    for region in REGIONS:
        for spelling in (region.name, region.latin, *region.aliases):
            yield pytest.param(spelling, region.code, id=f"{region.code}:{spelling}")


@pytest.mark.parametrize(("spelling", "code"), list(_spellings()))
def test_every_declared_spelling_maps_to_its_region(spelling, code):
    assert TABLE.spelling_key(spelling) is not None  # else it could never be found
    assert TABLE.code_for(spelling) == code
    assert TABLE.code_for(spelling.upper()) == code
    assert TABLE.code_for(spelling.lower()) == code
    assert TABLE.code_for(f"  {spelling}  ") == code


@pytest.mark.parametrize("code", [r.code for r in REGIONS])
def test_the_code_itself_maps_to_the_region(code):
    assert TABLE.code_for(code) == code
    assert TABLE.code_for(code.lower()) == code
    assert TABLE.code_for(f" {code} ") == code


@pytest.mark.parametrize(
    "spelling",
    [
        "Тверская область", "Тверская обл.", "Тверская обл", "обл. Тверская",
        "область Тверская", "ТВЕРСКАЯ ОБЛ.", "Tverskaya oblast", "TVERSKAYA OBLAST",
        "tverskaya obl.", "Tverskaya obl", "oblast Tverskaya", "Tverskaya region",
        "Tverskaya province", "Tverskaja oblast'", "Тверская  обл .", "Tverskaya обл.",
    ],
)
def test_tver_oblast_spellings(spelling):
    assert TABLE.code_for(spelling) == "TVE"


@pytest.mark.parametrize(
    "spelling",
    ["г. Москва", "г.Москва", "Москва", "Москва г.", "город Москва", "МОСКВА", "Moscow",
     "Moskva", "g. Moskva", "Moscow city", "city of Moscow", "MOW", "mow"],
)
def test_moscow_spellings(spelling):
    assert TABLE.code_for(spelling) == "MOW"


@pytest.mark.parametrize(
    ("spelling", "code"),
    [
        ("Московская обл.", "MOS"),           # Moscow oblast is not Moscow
        ("Moskovskaya obl.", "MOS"),
        ("Moscow region", "MOS"),
        ("Ленинградская обл", "LEN"),
        ("Санкт Петербург", "SPE"),
        ("С.-Петербург", "SPE"),
        ("спб", "SPE"),
        ("Респ. Татарстан", "TA"),
        ("Татарстан респ.", "TA"),
        ("Republic of Tatarstan", "TA"),
        ("Rep. Tatarstan", "TA"),
        ("Респ. Башкортостан", "BA"),
        ("Краснодарский кр.", "KDA"),
        ("Krasnodarskiy kr.", "KDA"),
        ("Krasnodarsky krai", "KDA"),
        ("Хабаровский край", "KHA"),
        ("Khabarovskiy kray", "KHA"),
        ("Khabarovskij kraj", "KHA"),
        ("Ярославская обл.", "YAR"),
        ("Jaroslavskaja oblast", "YAR"),
        ("Нижегородская обл", "NIZ"),
        ("Nizhegorodskaya obl.", "NIZ"),
    ],
)
def test_abbreviated_reordered_and_transliterated_spellings(spelling, code):
    assert TABLE.code_for(spelling) == code


def test_moscow_and_moscow_oblast_stay_apart():
    assert TABLE.code_for("Москва") == "MOW"
    assert TABLE.code_for("Московская область") == "MOS"
    assert TABLE.code_for("Moscow") == "MOW"
    assert TABLE.code_for("Moscow oblast") == "MOS"


@pytest.mark.parametrize(
    "spelling",
    [None, "", "   ", "Нарния", "Narnia", "обл.", "область", "край", "г.", "Республика",
     "Тверь-Москва", "Тверская Москва", "XXX", "123", "Московский край"],
)
def test_unknown_regions_give_none(spelling):
    assert TABLE.code_for(spelling) is None


def _spelling_owners() -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    owner: dict[str, str] = {}
    clashes = []
    for region in REGIONS:
        for spelling in (region.name, region.latin, *region.aliases):
            k = TABLE.spelling_key(spelling)
            assert k is not None
            if k in owner and owner[k] != region.code:
                clashes.append((spelling, owner[k], region.code))
            owner[k] = region.code
    return owner, clashes


def test_no_two_regions_share_a_spelling():
    _, clashes = _spelling_owners()
    assert not clashes  # a shared spelling would make one region's records ambiguous


def test_no_code_is_another_regions_spelling():
    # Codes are looked up first, so a code that spells another region would hide it.
    owner, _ = _spelling_owners()
    for region in REGIONS:
        assert owner.get(TABLE.spelling_key(region.code) or "", region.code) == region.code


def test_codes_are_unique_and_weights_positive():
    codes = [r.code for r in REGIONS]
    assert len(codes) == len(set(codes)) == len(TABLE.codes)
    assert all(r.weight > 0 for r in REGIONS)
    assert TABLE.by_code("TVE").name == "Тверская область"


def test_spelling_key_ignores_order_case_script_and_abbreviation():
    expected = TABLE.spelling_key("Тверская область")
    assert expected is not None
    for variant in ["обл. Тверская", "TVERSKAYA OBLAST", "tverskaya obl.", "Oblast Tverskaya"]:
        assert TABLE.spelling_key(variant) == expected
