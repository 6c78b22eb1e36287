"""pandera schemas: the canonical data contract of every dataset (see ``data/README.md``).

Each ``*_schema()`` function returns a :class:`pandera.pandas.DataFrameSchema` for the
canonical (already mapped and typed) frame. Schemas are strict about columns: a missing
column is an error and no extra column is allowed (loaders drop source columns the
contract does not use before validating). Checks carry plain-English ``error`` texts so a
failure reads like ``discharge_date before referral_date``.

Analysis code and the synthetic generator can validate a canonical frame directly::

    from needs_assessment.data.schemas import SCHEMAS
    SCHEMAS["deaths"]().validate(frame, lazy=True)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
import pandera.pandas as pa

from .codes import AGE_BANDS, CODES, CRIME_TYPES, OPENING_DAYS

__all__ = [
    "AREA_CODE_PATTERN",
    "CANONICAL_COLUMNS",
    "CROSS_CHECKS",
    "CROSS_CHECK_INPUTS",
    "SCHEMAS",
    "admissions_schema",
    "boundaries_schema",
    "comparators_schema",
    "crime_schema",
    "deaths_schema",
    "geography_schema",
    "linkable_list_schema",
    "population_schema",
    "population_source_schema",
    "prison_releases_schema",
    "services_schema",
    "treatment_episodes_schema",
]

#: ONS-style area codes: E/W + 8 digits for real areas, X + 8 digits for synthetic ones.
AREA_CODE_PATTERN = r"^[EWX]\d{8}$"

#: Earliest and latest plausible data years.
MIN_YEAR, MAX_YEAR = 1993, 2100

#: DataFrame-level (cross-field) check message -> the column it is reported against.
CROSS_CHECKS: dict[str, str] = {
    "triage_date before referral_date (expected triage on or after referral)": "triage_date",
    "discharge_date before referral_date (expected discharge on or after referral)": "discharge_date",
    "discharge_reason missing although discharge_date is set (expected a reason for every discharge)": "discharge_reason",
    "discharge_reason set although discharge_date is empty (expected a reason only with a discharge date)": "discharge_reason",
    "prison_release_date after referral_date (expected release on or before referral)": "prison_release_date",
    "age_band does not contain age (expected the ESP band of the age, e.g. 35-39 for 37)": "age_band",
    "lower_ci95 above upper_ci95 (expected lower <= upper)": "lower_ci95",
    "duplicate rows: the same small area and year appear more than once (expected one row per small area and year)": "small_area_code",
    "duplicate rows: the same small area, year, sex and age appear more than once (expected one row each)": "small_area_code",
    "neither easting/northing nor longitude/latitude given (expected a location for every site)": "easting",
    "category not valid for its characteristic (expected a code of that characteristic, e.g. asian for ethnicity)": "category",
    "duplicate rows: the same area, characteristic and category appear more than once (expected one row each)": "area_code",
}


#: Cross-field check message -> the columns it reads (a row already wrong in one of them
#: is not reported again by the cross-field check).
CROSS_CHECK_INPUTS: dict[str, tuple[str, ...]] = {
    'triage_date before referral_date (expected triage on or after referral)': ('triage_date', 'referral_date'),
    'discharge_date before referral_date (expected discharge on or after referral)': ('discharge_date', 'referral_date'),
    'discharge_reason missing although discharge_date is set (expected a reason for every discharge)': ('discharge_reason', 'discharge_date'),
    'discharge_reason set although discharge_date is empty (expected a reason only with a discharge date)': ('discharge_reason', 'discharge_date'),
    'prison_release_date after referral_date (expected release on or before referral)': ('prison_release_date', 'referral_date'),
    'age_band does not contain age (expected the ESP band of the age, e.g. 35-39 for 37)': ('age_band', 'age'),
    'lower_ci95 above upper_ci95 (expected lower <= upper)': ('lower_ci95', 'upper_ci95'),
    'duplicate rows: the same small area and year appear more than once (expected one row per small area and year)': ('small_area_code', 'year'),
    'duplicate rows: the same small area, year, sex and age appear more than once (expected one row each)': ('small_area_code', 'year'),
    'neither easting/northing nor longitude/latitude given (expected a location for every site)': ('easting', 'northing', 'longitude', 'latitude'),
    'category not valid for its characteristic (expected a code of that characteristic, e.g. asian for ethnicity)': ('category', 'characteristic'),
    'duplicate rows: the same area, characteristic and category appear more than once (expected one row each)': ('area_code', 'characteristic', 'category'),
}


def _nonblank(s: pd.Series) -> pd.Series:
    """True where a text value is not blank (NA counts as not blank: nullability is separate)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        ok_cat = np.asarray(pd.Series(s.cat.categories.astype(str)).str.strip() != "", dtype=bool)
        codes = s.cat.codes.to_numpy()
        ok = np.ones(len(s), dtype=bool)
        has = codes >= 0
        ok[has] = ok_cat[codes[has]]
        return pd.Series(ok, index=s.index)
    return s.str.strip() != ""


def _str(nullable: bool = False, checks=None, unique: bool = False, dtype=str, **kw) -> pa.Column:
    checks = list(checks or [])
    if not nullable:
        checks.append(pa.Check(_nonblank, error="empty value (a value is required)"))
    return pa.Column(dtype, checks, nullable=nullable, unique=unique, **kw)


def _code(field: str | tuple[str, ...], nullable: bool = False, dtype=str) -> pa.Column:
    allowed = list(CODES[field]) if isinstance(field, str) else list(field)
    return pa.Column(
        dtype,
        pa.Check.isin(allowed, error="unknown code (expected one of: " + ", ".join(allowed) + ")"),
        nullable=nullable,
    )


def _area_code(nullable: bool = False, unique: bool = False, dtype=str) -> pa.Column:
    return pa.Column(
        dtype,
        pa.Check.str_matches(
            AREA_CODE_PATTERN,
            error="not an area code (expected a letter E, W or X then 8 digits, e.g. E01000001)",
        ),
        nullable=nullable,
        unique=unique,
    )


def _date(today: dt.date | None, nullable: bool) -> pa.Column:
    checks = []
    if today is not None:
        limit = pd.Timestamp(today)
        checks.append(
            pa.Check(lambda s: s <= limit, ignore_na=True, error=f"date in the future (after {today.isoformat()})")
        )
    return pa.Column(pa.DateTime, checks, nullable=nullable)


def _int(lo: int | None = None, hi: int | None = None, nullable: bool = False, dtype="int64") -> pa.Column:
    checks = []
    if lo is not None and hi is not None:
        checks.append(pa.Check.in_range(lo, hi, error=f"must be between {lo} and {hi}"))
    elif lo is not None:
        checks.append(pa.Check.ge(lo, error=f"must be {lo} or more"))
    return pa.Column("Int64" if nullable else dtype, checks, nullable=nullable)


def _float(lo: float | None = None, hi: float | None = None, nullable: bool = False) -> pa.Column:
    checks = []
    if lo is not None and hi is not None:
        checks.append(pa.Check.in_range(lo, hi, error=f"must be between {lo:g} and {hi:g}"))
    elif lo is not None:
        checks.append(pa.Check.ge(lo, error=f"must be {lo:g} or more"))
    return pa.Column(float, checks, nullable=nullable)


def _year() -> pa.Column:
    return _int(MIN_YEAR, MAX_YEAR)


def _cross(fn: Callable[[pd.DataFrame], pd.Series], message: str) -> pa.Check:
    assert message in CROSS_CHECKS, message
    # ignore_na=False: pandera would otherwise pass every row holding any missing value
    return pa.Check(fn, error=message, name=message, ignore_na=False)


# --------------------------------------------------------------------------------------------
def geography_schema() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "small_area_code": _area_code(unique=True),
            "small_area_name": _str(),
            "ward_code": _area_code(),
            "ward_name": _str(),
            "district_code": _area_code(),
            "district_name": _str(),
            "upper_tier_code": _area_code(),
            "upper_tier_name": _str(),
            "region_code": _area_code(nullable=True),
            "region_name": _str(nullable=True),
            "imd_score": _float(0.0),
            "imd_rank": _int(1, None, nullable=True),
            "imd_decile": _int(1, 10),
        },
        strict=True,
        ordered=False,
        name="geography",
    )


def boundaries_schema() -> pa.DataFrameSchema:
    """Attribute part of the boundaries (the geometry is checked by the loader)."""
    return pa.DataFrameSchema(
        {"small_area_code": _area_code(unique=True)},
        strict="filter",
        name="boundaries",
    )


def _any_int(lo: int, hi: int | None, nullable: bool = False) -> pa.Column:
    """Any integer dtype (int16/Int16/int32/int64 …), within a range."""
    checks = [
        pa.Check(lambda s: pd.api.types.is_integer_dtype(s.dtype), element_wise=False,
                 error="must be whole numbers"),
        pa.Check.in_range(lo, hi, error=f"must be between {lo} and {hi}") if hi is not None
        else pa.Check.ge(lo, error=f"must be {lo} or more"),
    ]
    return pa.Column(None, checks, nullable=nullable)


def _codes_of(series: pd.Series) -> np.ndarray:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy().astype(np.int64)
    return pd.factorize(series, use_na_sentinel=True)[0].astype(np.int64)


def _duplicated_key(df: pd.DataFrame, columns: list[str]) -> pd.Series:
    """True for every row whose key repeats; integer-coded, so fast on tens of millions of rows."""
    key = np.zeros(len(df), dtype=np.int64)
    for col in columns:
        codes = _codes_of(df[col]) + 1
        key = key * (int(codes.max(initial=0)) + 1) + codes
    return pd.Series(pd.Series(key).duplicated(keep=False).to_numpy(), index=df.index)


def population_source_schema() -> pa.DataFrameSchema:
    """One row per small area and year of a wide (ONS SAPE) population table, before reshaping."""
    return pa.DataFrameSchema(
        {"small_area_code": _area_code(dtype=None), "year": _any_int(MIN_YEAR, MAX_YEAR)},
        checks=[_cross(lambda df: ~_duplicated_key(df, ["small_area_code", "year"]),
                       "duplicate rows: the same small area and year appear more than once (expected one row per small area and year)")],
        strict=True,
        name="population",
    )


def population_schema() -> pa.DataFrameSchema:
    """``small_area_code``, ``sex`` and ``age_band`` may be str or categorical; integers may be
    any integer dtype (loaders return a compact frame: a national table has tens of millions
    of rows)."""

    def band_matches_age(df: pd.DataFrame) -> pd.Series:
        age = df["age"]
        has_age = age.notna().to_numpy()
        if not has_age.any():
            return pd.Series(True, index=df.index)
        expected = np.minimum(age.fillna(0).to_numpy(dtype=np.int64) // 5, len(AGE_BANDS) - 1)
        band = df["age_band"]
        if isinstance(band.dtype, pd.CategoricalDtype) and list(band.cat.categories) == list(AGE_BANDS):
            actual = band.cat.codes.to_numpy()
        else:
            actual = pd.Categorical(band, categories=list(AGE_BANDS)).codes
        return pd.Series(~has_age | (expected == actual), index=df.index)

    return pa.DataFrameSchema(
        {
            "small_area_code": _area_code(dtype=None),
            "year": _any_int(MIN_YEAR, MAX_YEAR),
            "sex": _code("population_sex", dtype=None),
            "age": _any_int(0, 90, nullable=True),
            "age_band": _code(AGE_BANDS, dtype=None),
            "population": _any_int(0, None),
        },
        checks=[
            _cross(band_matches_age, "age_band does not contain age (expected the ESP band of the age, e.g. 35-39 for 37)"),
            _cross(lambda df: ~_duplicated_key(df, ["small_area_code", "year", "sex", "age", "age_band"]),
                   "duplicate rows: the same small area, year, sex and age appear more than once (expected one row each)"),
        ],
        strict=True,
        name="population",
    )


def treatment_episodes_schema(today: dt.date | None = None) -> pa.DataFrameSchema:
    today = today or dt.date.today()

    def not_before(col: str) -> Callable[[pd.DataFrame], pd.Series]:
        return lambda df: ~(df[col] < df["referral_date"]).fillna(False)

    def reason_present(df: pd.DataFrame) -> pd.Series:
        return ~(df["discharge_date"].notna() & df["discharge_reason"].isna())

    def reason_absent(df: pd.DataFrame) -> pd.Series:
        return ~(df["discharge_date"].isna() & df["discharge_reason"].notna())

    def release_before(df: pd.DataFrame) -> pd.Series:
        return ~(df["prison_release_date"] > df["referral_date"]).fillna(False)

    columns = {
        "episode_id": _str(unique=True),
        "client_id": _str(),
        "referral_date": _date(today, nullable=False),
        "triage_date": _date(today, nullable=True),
        "discharge_date": _date(today, nullable=True),
        "discharge_reason": _code("discharge_reason", nullable=True),
        "substance_group": _code("substance_group"),
        "referral_source": _code("referral_source"),
        "age": _int(0, 110),
        "sex": _code("sex"),
        "gender_identity_same_as_sex": _code("gender_identity_same_as_sex"),
        "ethnicity": _code("ethnicity"),
        "religion": _code("religion"),
        "sexual_orientation": _code("sexual_orientation"),
        "disability": _code("disability"),
        "pregnant": _code("pregnant"),
        "marital_status": _code("marital_status"),
        "small_area_code": _area_code(nullable=True),
        "housing_problem": _code("housing_problem"),
        "employment_status": _code("employment_status"),
        "injecting_status": _code("injecting_status"),
        "parental_status": _code("parental_status"),
        "young_person": pa.Column(bool),
        "prison_release_date": _date(today, nullable=True),
    }
    return pa.DataFrameSchema(
        columns,
        checks=[
            _cross(not_before("triage_date"), "triage_date before referral_date (expected triage on or after referral)"),
            _cross(not_before("discharge_date"), "discharge_date before referral_date (expected discharge on or after referral)"),
            _cross(reason_present, "discharge_reason missing although discharge_date is set (expected a reason for every discharge)"),
            _cross(reason_absent, "discharge_reason set although discharge_date is empty (expected a reason only with a discharge date)"),
            _cross(release_before, "prison_release_date after referral_date (expected release on or before referral)"),
        ],
        strict=True,
        name="treatment_episodes",
    )


def prison_releases_schema(today: dt.date | None = None) -> pa.DataFrameSchema:
    today = today or dt.date.today()
    return pa.DataFrameSchema(
        {
            "client_id": _str(),
            "release_date": _date(today, nullable=False),
            "substance_group": _code("substance_group"),
            "small_area_code": _area_code(nullable=True),
        },
        strict=True,
        name="prison_releases",
    )


def _counts_schema(kind: str, name: str) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "year": _year(),
            "small_area_code": _area_code(),
            "sex": _code("population_sex"),
            "age_band": _code(AGE_BANDS),
            kind: _code(kind),
            "count": _int(0),
        },
        unique=["year", "small_area_code", "sex", "age_band", kind],
        report_duplicates="all",
        strict=True,
        name=name,
    )


def deaths_schema() -> pa.DataFrameSchema:
    return _counts_schema("cause", "deaths")


def admissions_schema() -> pa.DataFrameSchema:
    return _counts_schema("condition", "admissions")


def crime_schema() -> pa.DataFrameSchema:
    """``reported_by``, ``small_area_code``, ``crime_type`` and ``outcome`` may be str or categorical."""
    return pa.DataFrameSchema(
        {
            "crime_id": pa.Column(str, nullable=True),
            "month": pa.Column(
                pa.DateTime,
                pa.Check(lambda s: s.dt.day == 1, error="month must be the first day of a month"),
            ),
            "reported_by": _str(dtype=None),
            "longitude": _float(-180.0, 180.0, nullable=True),
            "latitude": _float(-90.0, 90.0, nullable=True),
            "small_area_code": pa.Column(None, nullable=True),
            "crime_type": _code(CRIME_TYPES, dtype=None),
            "outcome": pa.Column(None, nullable=True),
            "in_area": pa.Column("boolean", nullable=True),
        },
        strict=True,
        name="crime",
    )


def comparators_schema() -> pa.DataFrameSchema:
    def ci_ordered(df: pd.DataFrame) -> pd.Series:
        return ~(df["lower_ci95"] > df["upper_ci95"]).fillna(False)

    return pa.DataFrameSchema(
        {
            "indicator_id": _int(1),
            "indicator_name": _str(),
            "area_code": _str(),
            "area_name": _str(),
            "area_type": pa.Column(str, nullable=True),
            "sex": pa.Column(str, nullable=True),
            "age": pa.Column(str, nullable=True),
            "category_type": pa.Column(str, nullable=True),
            "category": pa.Column(str, nullable=True),
            "time_period": _str(),
            "value": _float(nullable=True),
            "lower_ci95": _float(nullable=True),
            "upper_ci95": _float(nullable=True),
            "count": _float(0.0, nullable=True),
            "denominator": _float(0.0, nullable=True),
            "value_note": pa.Column(str, nullable=True),
        },
        checks=[_cross(ci_ordered, "lower_ci95 above upper_ci95 (expected lower <= upper)")],
        strict=True,
        name="comparators",
    )


def services_schema() -> pa.DataFrameSchema:
    day_pattern = r"^(?:" + "|".join(OPENING_DAYS) + r")(?:;(?:" + "|".join(OPENING_DAYS) + r"))*$"

    def located(df: pd.DataFrame) -> pd.Series:
        return (df["easting"].notna() & df["northing"].notna()) | (
            df["longitude"].notna() & df["latitude"].notna()
        )

    return pa.DataFrameSchema(
        {
            "site_id": _str(unique=True),
            "site_name": _str(),
            "easting": _float(0.0, 700_000.0, nullable=True),
            "northing": _float(0.0, 1_300_000.0, nullable=True),
            "longitude": _float(-9.0, 3.0, nullable=True),
            "latitude": _float(49.0, 61.0, nullable=True),
            "opening_days": pa.Column(
                str,
                pa.Check.str_matches(day_pattern, error="opening_days must be ';'-separated days from Mon Tue Wed Thu Fri Sat Sun"),
                nullable=True,
            ),
            "service_type": _code("service_type"),
        },
        checks=[_cross(located, "neither easting/northing nor longitude/latitude given (expected a location for every site)")],
        strict=True,
        name="services",
    )


#: Protected characteristics (and sex) that population denominators may be given for; the
#: categories are the treatment-episode codes of the same field.
CHARACTERISTIC_FIELDS = (
    "sex",
    "ethnicity",
    "religion",
    "sexual_orientation",
    "disability",
    "gender_identity_same_as_sex",
    "marital_status",
    "pregnant",
)


def characteristics_schema() -> pa.DataFrameSchema:
    """Residents by protected characteristic per area (small area, ward, district or the
    whole area): the denominators of the people chapter (Census 2021 style)."""

    def category_fits(df: pd.DataFrame) -> pd.Series:
        ok = pd.Series(False, index=df.index)
        for field in CHARACTERISTIC_FIELDS:
            rows = df["characteristic"].astype(str) == field
            ok |= rows & df["category"].astype(str).isin(CODES[field])
        return ok | ~df["characteristic"].astype(str).isin(CHARACTERISTIC_FIELDS)

    return pa.DataFrameSchema(
        {
            "area_code": _area_code(),
            "characteristic": _code(CHARACTERISTIC_FIELDS),
            "category": _str(),
            "population": _int(0),
        },
        checks=[
            _cross(category_fits, "category not valid for its characteristic (expected a code of that characteristic, e.g. asian for ethnicity)"),
            _cross(lambda df: ~_duplicated_key(df, ["area_code", "characteristic", "category"]),
                   "duplicate rows: the same area, characteristic and category appear more than once (expected one row each)"),
        ],
        strict=True,
        name="characteristics",
    )


def linkable_list_schema(today: dt.date | None = None) -> pa.DataFrameSchema:
    today = today or dt.date.today()
    return pa.DataFrameSchema(
        {
            "client_id": _str(),
            "event_date": _date(today, nullable=False),
            "age": _int(0, 110),
            "sex": _code("sex"),
            "small_area_code": _area_code(nullable=True),
            "opiate_or_crack": pa.Column(bool),
            "ethnicity": _code("ethnicity", nullable=True),
        },
        strict=True,
        name="linkable_list",
    )


#: dataset name -> schema factory.
SCHEMAS: dict[str, Callable[..., pa.DataFrameSchema]] = {
    "geography": geography_schema,
    "boundaries": boundaries_schema,
    "population": population_schema,
    "treatment_episodes": treatment_episodes_schema,
    "prison_releases": prison_releases_schema,
    "deaths": deaths_schema,
    "admissions": admissions_schema,
    "crime": crime_schema,
    "comparators": comparators_schema,
    "services": services_schema,
    "characteristics": characteristics_schema,
    "linkable_list": linkable_list_schema,
}

#: dataset name -> canonical column order.
CANONICAL_COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple(factory().columns) for name, factory in SCHEMAS.items()
}
