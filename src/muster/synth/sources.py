"""The seven agencies: how each writes its extract and how noisy it is.

A spec is both the writer's instructions and the source declaration muster reads
back (sources.toml), so the two can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CANONICAL_FIELDS = (
    "family_name",
    "given_name",
    "middle_name",
    "full_name",
    "birth_date",
    "birth_place",
    "sex",
    "national_id",
    "passport_no",
    "tax_id",
    "region",
    "address",
    "phone",
    "email",
    "record_date",
    "fitness_category",
    "fitness_date",
    "death_date",
    "dependents",
    "student_until",
    "employer",
    "occupation",
    "military_rank",
    "military_specialty",
    "service_end",
)
RECORD_ID = "record_id"  # the key of the record-id column in ``SourceSpec.columns``


@dataclass(frozen=True)
class Noise:
    """Share of rows hit by each kind of defect."""

    typo: float = 0.02
    swap_names: float = 0.005
    day_month: float = 0.006
    transliterate: float = 0.0
    broken_id: float = 0.01
    missing: float = 0.015
    duplicate: float = 0.01
    borrowed_id: float = 0.0  # rows carrying someone else's valid identifier (a trap)
    missable: tuple[str, ...] = ("middle_name", "birth_date")


@dataclass(frozen=True)
class SourceSpec:
    name: str
    agency: str
    format: str  # csv | jsonl | parquet
    file: str
    columns: tuple[tuple[str, str], ...]  # (canonical field or extra key, column), in order
    id_prefix: str = ""  # text record ids: prefix + zero-padded number
    id_width: int = 6
    encoding: str = "utf-8"
    delimiter: str = ","
    date_format: str = "%Y-%m-%d"
    name_order: str | None = None  # set when the names come as one full_name column
    sex_codes: str = "sex_letter"  # which `codes` entry of the vocabulary writes sex
    sex_upper: bool = False
    region_styles: dict[str, float] = field(default_factory=lambda: {"name": 1.0})
    displayed_ids: tuple[str, ...] = ()  # identifiers written in the profile's display layout
    yo_as_ye: bool = False  # the agency's software writes ё as е
    noise: Noise = Noise()

    @property
    def column_of(self) -> dict[str, str]:
        return dict(self.columns)

    @property
    def fields(self) -> list[str]:
        return [key for key, _ in self.columns if key in CANONICAL_FIELDS]

    @property
    def text_format(self) -> bool:
        return self.format != "parquet"


SOURCES = (
    SourceSpec(
        name="voters",
        agency="Election commission",
        format="csv",
        file="voters.csv",
        encoding="cp1251",
        delimiter=";",
        date_format="%d.%m.%Y",
        id_width=6,
        columns=(
            ("record_id", "NOMER"),
            ("family_name", "FAM"),
            ("given_name", "IM"),
            ("middle_name", "OTCH"),
            ("birth_date", "DR"),
            ("sex", "POL"),
            ("region", "REG"),
            ("address", "ADRES"),
            ("polling_station", "UIK"),
            ("record_date", "DATA_AKT"),
        ),
        region_styles={
            "name": 0.4,
            "short": 0.3,
            "upper": 0.1,
            "latin": 0.08,
            "alias": 0.06,
            "code": 0.06,
        },
        yo_as_ye=True,
        noise=Noise(typo=0.02, missable=("middle_name", "birth_date", "address")),
    ),
    SourceSpec(
        name="passports",
        agency="Interior ministry",
        format="parquet",
        file="passports.parquet",
        columns=(
            ("record_id", "doc_id"),
            ("family_name", "surname"),
            ("given_name", "name"),
            ("middle_name", "patronymic"),
            ("birth_date", "birth_date"),
            ("birth_place", "birth_place"),
            ("sex", "gender"),
            ("passport_no", "passport"),
            ("national_id", "snils"),
            ("region", "reg_region"),
            ("address", "reg_address"),
            ("record_date", "issue_date"),
        ),
        sex_codes="sex_word",
        sex_upper=True,
        region_styles={"code": 1.0},
        displayed_ids=("passport_no",),
        noise=Noise(
            typo=0.005,
            swap_names=0.002,
            day_month=0.002,
            broken_id=0.004,
            missing=0.01,
            duplicate=0.004,
            missable=("middle_name", "birth_place"),
        ),
    ),
    SourceSpec(
        name="health",
        agency="Health ministry (fitness boards)",
        format="jsonl",
        file="health.jsonl",
        date_format="%d-%m-%Y",
        name_order="family given middle",
        id_prefix="MZ-",
        id_width=8,
        sex_codes="sex_word",
        columns=(
            ("record_id", "id"),
            ("full_name", "fio"),
            ("birth_date", "data_rozhdeniya"),
            ("sex", "pol"),
            ("national_id", "snils"),
            ("region", "region"),
            ("fitness_category", "kategoriya_godnosti"),
            ("fitness_date", "data_osvidetelstvovaniya"),
            ("record_date", "data_vneseniya"),
        ),
        region_styles={"name": 0.6, "short": 0.4},
        displayed_ids=("national_id",),
        noise=Noise(
            typo=0.03,
            swap_names=0.01,
            transliterate=0.02,
            borrowed_id=0.003,
            missable=("middle_name", "national_id", "region"),
        ),
    ),
    SourceSpec(
        name="tax",
        agency="Tax service (employment)",
        format="csv",
        file="tax.csv",
        encoding="utf-8-sig",
        delimiter=",",
        date_format="%d/%m/%Y",
        id_prefix="FNS-",
        id_width=9,
        columns=(
            ("record_id", "REC_ID"),
            ("family_name", "FAMILIYA"),
            ("given_name", "IMYA"),
            ("middle_name", "OTCHESTVO"),
            ("birth_date", "DATA_ROZHD"),
            ("tax_id", "INN"),
            ("phone", "TELEFON"),
            ("region", "REGION"),
            ("address", "ADRES"),
            ("employer", "RABOTODATEL"),
            ("occupation", "DOLZHNOST"),
            ("record_date", "DATA_SVED"),
        ),
        region_styles={"name": 0.5, "short": 0.2, "latin": 0.3},
        yo_as_ye=True,
        noise=Noise(
            typo=0.03,
            swap_names=0.01,
            transliterate=0.10,
            borrowed_id=0.004,
            missable=("middle_name", "birth_date", "phone", "address"),
        ),
    ),
    SourceSpec(
        name="education",
        agency="Education ministry (enrolment)",
        format="csv",
        file="education.csv",
        delimiter="|",
        date_format="%Y%m%d",
        id_prefix="ST",
        id_width=7,
        columns=(
            ("record_id", "student_no"),
            ("family_name", "last_name"),
            ("given_name", "first_name"),
            ("middle_name", "middle_name"),
            ("birth_date", "dob"),
            ("email", "email"),
            ("region", "region"),
            ("faculty", "faculty"),
            ("student_until", "study_until"),
            ("record_date", "enrolled"),
        ),
        region_styles={"latin": 0.7, "name": 0.3},
        noise=Noise(
            typo=0.03,
            swap_names=0.01,
            transliterate=0.35,
            missable=("middle_name", "email", "birth_date"),
        ),
    ),
    SourceSpec(
        name="civil",
        agency="Civil registry (births, deaths, families)",
        format="csv",
        file="civil.csv",
        delimiter=",",
        id_prefix="АЗ-",
        id_width=8,
        sex_codes="sex_number",
        columns=(
            ("record_id", "akt_no"),
            ("event", "sobytie"),
            ("family_name", "familiya"),
            ("given_name", "imya"),
            ("middle_name", "otchestvo"),
            ("birth_date", "data_rozhdeniya"),
            ("birth_place", "mesto_rozhdeniya"),
            ("sex", "pol"),
            ("national_id", "snils"),
            ("death_date", "data_smerti"),
            ("dependents", "deti"),
            ("record_date", "data_zapisi"),
        ),
        noise=Noise(
            typo=0.01,
            swap_names=0.003,
            day_month=0.004,
            borrowed_id=0.002,
            missable=("middle_name", "birth_place", "national_id"),
        ),
    ),
    SourceSpec(
        name="military",
        agency="Defence ministry (service records)",
        format="csv",
        file="military.tsv",
        delimiter="\t",
        date_format="%d.%m.%Y",
        id_prefix="АВ",
        id_width=7,
        columns=(
            ("record_id", "VB_NO"),
            ("family_name", "FAMILIYA"),
            ("given_name", "IMYA"),
            ("middle_name", "OTCHESTVO"),
            ("birth_date", "DATA_ROZHD"),
            ("military_rank", "ZVANIE"),
            ("military_specialty", "VUS"),
            ("service_end", "DATA_UVOLN"),
            ("region", "REGION"),
            ("record_date", "DATA_ZAPISI"),
        ),
        region_styles={"code": 0.5, "short": 0.5},
        noise=Noise(typo=0.03, swap_names=0.005, missable=("middle_name", "military_specialty")),
    ),
)
