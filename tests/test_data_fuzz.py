"""Property-based fuzzing (hypothesis) of every loader against its data contract.

Each property takes a valid file in a real layout, corrupts it one way (see
``fuzz_faults.py``: wrong types, missing/extra/renamed columns, encodings, byte-order marks,
delimiters, duplicated keys, empty and header-only files, truncated and ragged rows, huge
values, NaN/inf text, odd dates, whitespace, mixed line endings), runs the loader, and
checks the promise of ``data/README.md``:

* the loader returns a frame that passes its schema again (and, for faults that change
  nothing a reader should care about, such as a byte-order mark or CRLF line endings,
  exactly the frame the valid file gives); or
* it raises :class:`InputDataError` whose message names the file, a column when the fault is
  in a column, and rows (the row of a bad cell) when the fault is in rows;
* never any other exception; and the input files are byte-for-byte unchanged.

Valid files come from the synthetic county, generated for the session by the
``synthetic_params`` fixture (the layouts analysts have: ONS SAPE wide population, police.uk
monthly folders, a Fingertips export ...), and from samples of the published files in
``shared/reference`` (skipped when absent; sampled into a temporary folder, never copied
into the repository). Excel copies of four seeds are fuzzed with typed cells (numbers,
dates, booleans, errors, formulas), title rows and broken workbooks. The public-data readers
are fuzzed on samples of their published files, with the same CSV faults.

At the end, each bug the fuzzing found is pinned by a plain regression test on a tiny
hand-made file: the smallest example, and what the loader used to do with it.

Hypothesis runs derandomized, without an example database, so every run tries the same
cases; ``NEEDS_ASSESSMENT_FUZZ_EXAMPLES`` raises the number of examples for a deeper run.
``pytest tests/test_data_fuzz.py --hypothesis-show-statistics`` lists how many examples
each property ran and which faults they were.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from fuzz_faults import Fault, Seed, Table, geojson_faults, table_faults, xlsx_faults
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_data_builders import (
    TODAY,
    counts_frame,
    geography_frame,
    population_wide,
    prison_frame,
    services_frame,
    snapshot,
)

from needs_assessment.data import (
    CANONICAL_COLUMNS,
    InputDataError,
    check_frame,
    load_boundaries,
    load_comparators,
    load_crime,
    load_deaths,
    load_geography,
    load_linkable_list,
    load_population,
    load_prison_releases,
    load_services,
    load_treatment_episodes,
)
from needs_assessment.data.loaders import load_admissions, load_characteristics
from needs_assessment.data.schemas import boundaries_schema
from needs_assessment.public_data import readers as R

CODES4 = [f"X0100000{i}" for i in range(1, 5)]

EXAMPLES = int(os.environ.get("NEEDS_ASSESSMENT_FUZZ_EXAMPLES", "60"))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


# ================================================================================ targets
@dataclass(frozen=True)
class Target:
    """One loader and the valid input it is fuzzed from."""

    name: str
    load: Callable[[Path], object]  # called with the file (or folder) path
    dataset: str | None  # schema the result must pass again (None: boundaries, checked apart)
    entry: str = ""  # path handed to the loader, relative to the seed folder ("" = folder)
    geojson: bool = False
    code_property: str = "small_area_code"
    reference: bool = False  # seeded from shared/reference (skipped when absent)


TARGETS = [
    Target("geography", load_geography, "geography", "geography.csv"),
    Target("geography_folder_ons_imd", load_geography, "geography", reference=True),
    Target("boundaries_geojson", load_boundaries, None, "boundaries.geojson", geojson=True),
    Target("boundaries_ons_geojson", load_boundaries, None, "lsoa21_boundaries.geojson", geojson=True,
           code_property="LSOA21CD", reference=True),
    Target("population_wide_sape", load_population, "population", "population.csv"),
    Target("population_long", load_population, "population", "population_long.csv"),
    Target("population_wide_persons_ons", load_population, "population", "mye2020_persons_lsoa11.csv",
           reference=True),
    Target("treatment_episodes", lambda p: load_treatment_episodes(p, today=TODAY), "treatment_episodes",
           "treatment_episodes.csv"),
    Target("prison_releases", lambda p: load_prison_releases(p, today=TODAY), "prison_releases",
           "prison_releases.csv"),
    Target("deaths", load_deaths, "deaths", "deaths.csv"),
    Target("admissions", load_admissions, "admissions", "admissions.csv"),
    Target("crime_police_uk_folder", load_crime, "crime"),
    Target("crime_police_uk_file", load_crime, "crime", "2024-09-metropolitan-street.csv", reference=True),
    Target("comparators_fingertips", load_comparators, "comparators", "comparators.csv"),
    Target("services", load_services, "services", "services.csv"),
    Target("characteristics", load_characteristics, "characteristics", "characteristics.csv"),
    Target("linkable_list", lambda p: load_linkable_list(p, today=TODAY), "linkable_list", "probation.csv"),
    # the same layouts saved from Excel: typed cells (numbers, dates, booleans), title rows
    Target("geography_xlsx", load_geography, "geography", "geography.xlsx"),
    Target("population_wide_sape_xlsx", load_population, "population", "population.xlsx"),
    Target("treatment_episodes_xlsx", lambda p: load_treatment_episodes(p, today=TODAY), "treatment_episodes",
           "treatment_episodes.xlsx"),
    Target("deaths_xlsx", load_deaths, "deaths", "deaths.xlsx"),
]
#: Excel targets and the CSV target whose valid file they hold.
XLSX_OF = {"geography_xlsx": "geography", "population_wide_sape_xlsx": "population_wide_sape",
           "treatment_episodes_xlsx": "treatment_episodes", "deaths_xlsx": "deaths"}


# ================================================================================== seeds
def _table(path: Path, keep: int | None = None, where: Callable[[list[str], list[str]], bool] | None = None) -> Table:
    table = Table.from_bytes(path.read_bytes())
    if where is not None:
        table.rows = [r for r in table.rows if where(table.header, r)]
    return Table.from_bytes(table.to_bytes(), keep=keep)


def _features(path: Path, n: int) -> bytes:
    doc = json.loads(path.read_bytes())
    doc["features"] = doc["features"][:n]
    return json.dumps(doc).encode("utf-8")


def _long_population(wide: Table, tmp: Path) -> Table:
    """The long layout (small_area_code, year, sex, age, age_band, population) of a few
    small areas of the wide file, via the loader itself on the valid wide file."""
    path = tmp / "wide.csv"
    path.write_bytes(wide.to_bytes())
    long = load_population(path)
    long = long[long["small_area_code"].isin(long["small_area_code"].cat.categories[:2])]
    long = long[long["age"].isin([0, 1, 17, 18, 44, 45, 89, 90])]
    return Table.from_bytes(long.astype(str).to_csv(index=False).encode("utf-8"))


@pytest.fixture(scope="module")
def county(synthetic_params) -> Path:
    raw = yaml.safe_load(synthetic_params("default").read_text())
    return Path(raw["data"]["directory"])


@pytest.fixture(scope="module")
def seeds(county, tmp_path_factory) -> dict[str, Seed]:
    """name -> valid input, cut down from the generated county (rows spread over each file);
    the Excel targets hold the same tables as their CSV ones."""
    tmp = tmp_path_factory.mktemp("fuzz-seeds")
    wide = _table(county / "population.csv", keep=6)
    crime_files = sorted((county / "crime").rglob("*-street.csv"))
    out = {
        "geography": Seed({"geography.csv": _table(county / "geography.csv", keep=12)}),
        "boundaries_geojson": Seed({"boundaries.geojson": _features(county / "boundaries.geojson", 5)}),
        "population_wide_sape": Seed({"population.csv": wide}),
        "population_long": Seed({"population_long.csv": _long_population(wide, tmp)}),
        "treatment_episodes": Seed({"treatment_episodes.csv": _table(county / "treatment_episodes.csv", keep=30)}),
        "prison_releases": Seed({"prison_releases.csv": _table(county / "prison_releases.csv", keep=20)}),
        "deaths": Seed({"deaths.csv": _table(county / "deaths.csv", keep=25)}),
        "admissions": Seed({"admissions.csv": _table(county / "admissions.csv", keep=25)}),
        "crime_police_uk_folder": Seed(
            {f"{f.parent.name}/{f.name}": _table(f, keep=12) for f in (crime_files[0], crime_files[-1])},
            folder=True,
        ),
        "comparators_fingertips": Seed({"comparators.csv": _table(county / "comparators.csv", keep=15)}),
        "services": Seed({"services.csv": _table(county / "services.csv")}),
        "characteristics": Seed({"characteristics.csv": _table(county / "characteristics.csv", keep=25)}),
        "linkable_list": Seed({"probation.csv": _table(county / "lists" / "probation.csv", keep=25)}),
    }
    for name, csv_name in XLSX_OF.items():
        (rel, table), = out[csv_name].files.items()
        if name == "population_wide_sape_xlsx":  # 188 columns: 3 rows keep a workbook quick to write
            table = Table(table.header, table.rows[:3])
        out[name] = Seed({rel.replace(".csv", ".xlsx"): table})
    return out


@pytest.fixture(scope="module")
def reference_seeds(reference_dir) -> dict[str, Seed]:
    """Samples of the published files: ONS lookup + IoD 2025 (a geography folder), ONS LSOA
    boundaries, ONS SAPE persons by single year (2011 LSOAs), a police.uk file."""
    geo = reference_dir / "geography"
    lookup = _table(geo / "lsoa21_ward24_lad24_utla_lookup.csv", keep=10)
    codes = {r[0] for r in lookup.rows}
    imd = _table(geo / "imd2025_lsoa21_study_areas.csv",
                 where=lambda h, r: r[0] in codes or r[0].startswith("E0100420"))
    return {
        "geography_folder_ons_imd": Seed({"lookup.csv": lookup, "imd.csv": imd}, folder=True),
        "boundaries_ons_geojson": Seed(
            {"lsoa21_boundaries.geojson": _features(geo / "lsoa21_boundaries_bgc.geojson", 4)}),
        "population_wide_persons_ons": Seed({"mye2020_persons_lsoa11.csv": _table(
            reference_dir / "population" / "mye2020_persons_single_year_lsoa11.csv", keep=5)}),
        "crime_police_uk_file": Seed({"2024-09-metropolitan-street.csv": _table(
            reference_dir / "crime" / "tower_hamlets_burglary_2024-09_to_2025-02_street.csv", keep=20)}),
    }


def _seed_for(target: Target, request) -> Seed:
    if target.reference:
        return request.getfixturevalue("reference_seeds")[target.name]
    return request.getfixturevalue("seeds")[target.name]


# ============================================================================= running
FOLDER = "input"  # the folder the (corrupted) seed is written to, as messages name it


def _write(seed: Seed, folder: Path, fault: Fault | None = None) -> None:
    for rel, content in seed.files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if fault is not None and rel == fault.file:
            path.write_bytes(fault.content)
        elif isinstance(content, Table):
            path.write_bytes(content.to_xlsx() if rel.endswith(".xlsx") else content.to_bytes())
        else:
            path.write_bytes(content)


def _entry(target: Target, folder: Path) -> Path:
    return folder / target.entry if target.entry else folder


def _check_result(target: Target, result) -> None:
    """A loaded frame must pass its contract again."""
    if target.geojson:
        assert list(result.columns) == ["small_area_code", "geometry"]
        assert result.crs.to_epsg() == 27700
        boundaries_schema().validate(pd.DataFrame({"small_area_code": result["small_area_code"]}), lazy=True)
        assert result.geometry.notna().all() and not result.geometry.is_empty.any()
        types = set(result.geom_type)
        assert types <= {"Polygon", "MultiPolygon"}, types
        assert result.geometry.is_valid.all()
        return
    assert tuple(result.columns) == CANONICAL_COLUMNS[target.dataset]
    assert isinstance(result.index, pd.RangeIndex)
    check_frame(result, target.dataset, today=TODAY, file=f"{target.name} (as loaded)")


def _check_error(err: InputDataError, fault: Fault, seed: Seed, target: Target) -> None:
    """The message names the file, a column (fault in a column) and rows (fault in rows)."""
    message = str(err)
    assert err.problems, message
    corrupted = Path(fault.file).name
    if seed.folder:
        # a folder loader may report a broken file against the file it was matched with
        names = {Path(rel).name for rel in seed.files} | {FOLDER}
        assert all(any(n in p.file for n in names) for p in err.problems), message
    else:
        assert corrupted in message, message
        assert all(p.file.startswith(corrupted) for p in err.problems), message
    if target.geojson and any(re.search(r"line \d+, character \d+", p.message) for p in err.problems):
        # GDAL stops at the first thing it cannot parse (bad JSON, or an integer beyond
        # 64 bits) and gives its line and character; it knows no feature or property then
        return
    if fault.column is not None:
        assert any(p.column for p in err.problems), f"{fault}: no problem names a column\n{message}"
    if fault.row is not None:
        assert any(p.rows for p in err.problems), f"{fault}: no problem names rows\n{message}"
    if fault.locate_row:
        located = [p for p in err.problems if p.file.startswith(corrupted)]
        if located or not seed.folder:
            assert any(fault.row in p.rows for p in located), f"{fault}: row {fault.row} not named\n{message}"


def _baseline(target: Target, seed: Seed, cache: dict):
    if target.name not in cache:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / FOLDER
            _write(seed, folder)
            cache[target.name] = target.load(_entry(target, folder))
    return cache[target.name]


def _same(target: Target, got, want) -> None:
    if target.geojson:
        assert got["small_area_code"].tolist() == want["small_area_code"].tolist()
        assert got.geometry.geom_equals_exact(want.geometry, tolerance=1e-6).all()
        return
    pd.testing.assert_frame_equal(got, want)


def run_fault(target: Target, seed: Seed, fault: Fault, baseline=None) -> None:
    """Write the corrupted input, load it, check the promise (see the module docstring)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / FOLDER
        _write(seed, folder, fault)
        before = snapshot(folder)
        try:
            result = target.load(_entry(target, folder))
        except InputDataError as err:
            assert not fault.benign, f"{fault}: a harmless change was rejected\n{err}"
            _check_error(err, fault, seed, target)
        else:
            _check_result(target, result)
            if fault.benign and baseline is not None:
                _same(target, result, baseline)
        assert snapshot(folder) == before, f"{fault}: the input files changed"


_BASELINES: dict = {}


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
@FUZZ
@given(data=st.data())
def test_loader_returns_valid_data_or_names_the_fault(request, target, data):
    seed = _seed_for(target, request)
    if target.geojson:
        strategy = geojson_faults(seed, target.code_property)
    elif target.entry.endswith(".xlsx"):
        strategy = xlsx_faults(seed)
    else:
        strategy = table_faults(seed)
    fault = data.draw(strategy, label="fault")
    run_fault(target, seed, fault, _baseline(target, seed, _BASELINES))


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_every_seed_loads_as_valid_data(request, target):
    """The fuzzing starts from files that are valid (otherwise every fault 'passes')."""
    seed = _seed_for(target, request)
    _check_result(target, _baseline(target, seed, _BASELINES))


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(XLSX_OF))
def test_excel_copy_of_a_seed_loads_as_its_csv(request, name):
    """Typed Excel cells (numbers, dates, booleans) read as the CSV text does."""
    seeds = request.getfixturevalue("seeds")
    by_name = {t.name: t for t in TARGETS}
    got = _baseline(by_name[name], seeds[name], _BASELINES)
    want = _baseline(by_name[XLSX_OF[name]], seeds[XLSX_OF[name]], _BASELINES)
    if len(got) < len(want):  # the Excel copy holds the first rows only
        want = want.iloc[: len(got)]
        want = want.assign(small_area_code=want["small_area_code"].cat.remove_unused_categories())
    pd.testing.assert_frame_equal(got, want)


# =================================================================== public-data readers
@dataclass(frozen=True)
class Reader:
    """A public-data reader and the published file (in shared/reference) it is fuzzed from."""

    name: str
    read: Callable[[Path], pd.DataFrame]
    source: str  # relative to shared/reference
    keep: int | None = 25  # rows sampled evenly from the file
    areas: int | None = None  # or: every row of the first n areas (first column)
    #: the columns the reader promises; None: exactly those of the valid sample. A reader
    #: that returns every column of its file as data takes an extra column as data too.
    promises: tuple[str, ...] | None = None
    #: columns whose cells add up to a published total on another row: a changed cell may
    #: be reported at the total's row (which of the two is wrong cannot be known)
    summed: tuple[str, ...] = ()


READERS = [
    Reader("census_age", R.read_census_age, "population/census2021_ts007_age_single_year.csv", keep=None, areas=2,
           summed=("usual_residents",)),
    Reader("census_sex", R.read_census_sex, "population/census2021_ts009_sex_totals.csv", keep=None),
    Reader("sex_age_16plus", R.read_sex_age_16plus, "population/census2021_sexual_orientation_by_age_sex.csv"),
    Reader("small_area_ethnicity", lambda p: R.read_small_area_table(p, "ethnicity"),
           "population/census2021_ethnic_group_5cat_lsoa21.csv", keep=None, areas=4),
    Reader("small_area_disability", lambda p: R.read_small_area_table(p, "disability"),
           "population/census2021_disability_lsoa21.csv", keep=None, areas=6),
    Reader("characteristic_comparators", R.read_characteristic_comparators,
           "population/census2021_religion_disability_ethnicity_la_from_lsoa_sums.csv"),
    Reader("sexual_orientation", R.read_sexual_orientation, "population/census2021_sexual_orientation_9cat.csv"),
    Reader("gender_identity", R.read_gender_identity, "population/census2021_gender_identity_by_age_sex.csv"),
    Reader("legal_partnership", R.read_legal_partnership,
           "population/census2021_legal_partnership_by_sexual_orientation.csv"),
    Reader("lsoa11_to_lsoa21", R.read_lsoa11_to_lsoa21, "geography/lsoa11_to_lsoa21_lookup.csv"),
    Reader("deaths_by_la", R.read_deaths_by_la, "indicators/ons_drug_poisoning_deaths_by_la_1993_2020.csv", keep=10),
    Reader("deaths_by_region", R.read_deaths_by_region, "indicators/ons_drug_poisoning_deaths_by_region_1993_2020.csv"),
    Reader("deaths_3yr", R.read_deaths_3yr, "indicators/ons_drug_deaths_3yr_by_merged_area_2007_2018.csv"),
    Reader("deaths_national", R.read_deaths_national, "indicators/ons_drug_deaths_england_wales_1993_2021.csv",
           keep=None, promises=("year", "drug_poisoning")),
    Reader("admissions", R.read_admissions, "indicators/nhs_digital_drug_related_admissions_2008_09_to_2019_20.csv"),
]

_GSS = r"^[A-Z]\d{8}$"  # GSS-style (ONS also uses J99000001 for England and Wales)
_CODE_COLUMNS = ("area_code", "small_area_code", "district_code", "lsoa11_code", "lsoa21_code")
_COUNT_COLUMNS = ("population", "count", "deaths", "admissions", "total", "female", "male", "total_residents",
                  "drug_poisoning", "drug_misuse")


@pytest.fixture(scope="module")
def reader_seeds(reference_dir) -> dict[str, Seed]:
    out = {}
    for reader in READERS:
        path = reference_dir / reader.source
        if reader.areas:
            table = Table.from_bytes(path.read_bytes())
            first = list(dict.fromkeys(r[0] for r in table.rows))[: reader.areas]
            table = _table(path, where=lambda h, r, first=first: r[0] in first)
        else:
            table = _table(path, keep=reader.keep)
        out[reader.name] = Seed({Path(reader.source).name: table})
    return out


def _check_reader_result(reader: Reader, frame: pd.DataFrame, baseline: pd.DataFrame) -> None:
    """What the builders rely on: the promised columns, GSS codes, counts that are counts."""
    assert isinstance(frame, pd.DataFrame)
    if reader.promises is None:
        assert list(frame.columns) == list(baseline.columns)
    else:
        assert set(reader.promises) <= set(frame.columns), list(frame.columns)
    for col in _CODE_COLUMNS:
        if col in frame:
            codes = frame[col].dropna().astype(str)
            assert codes.str.match(_GSS).all(), codes[~codes.str.match(_GSS)].unique()[:5]
    for col in _COUNT_COLUMNS:
        if col in frame:
            values = pd.to_numeric(frame[col], errors="coerce")
            assert (values.dropna() >= 0).all() and np.isfinite(values.dropna()).all(), values.describe()


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize("reader", READERS, ids=[r.name for r in READERS])
@FUZZ
@given(data=st.data())
def test_public_reader_returns_its_layout_or_names_the_fault(reader_seeds, reader, data):
    seed = reader_seeds[reader.name]
    target = Target(f"reader:{reader.name}", reader.read, None, next(iter(seed.files)))
    fault = data.draw(table_faults(seed), label="fault")
    if reader.promises is not None and fault.kind in ("extra_column", "header_variant"):
        fault = replace(fault, benign=False)  # its columns are data: a new one is read as data
    if fault.column in reader.summed:
        fault = replace(fault, locate_row=False)
    baseline = _baseline(target, seed, _BASELINES)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / FOLDER
        _write(seed, folder, fault)
        before = snapshot(folder)
        try:
            result = reader.read(_entry(target, folder))
        except InputDataError as err:
            assert not fault.benign, f"{fault}: a harmless change was rejected\n{err}"
            _check_error(err, fault, seed, target)
        else:
            _check_reader_result(reader, result, baseline)
            if fault.benign:
                pd.testing.assert_frame_equal(result, baseline)
        assert snapshot(folder) == before, f"{fault}: the input files changed"


@pytest.mark.parametrize("reader", READERS, ids=[r.name for r in READERS])
def test_every_reader_seed_reads(reader_seeds, reader):
    seed = reader_seeds[reader.name]
    target = Target(f"reader:{reader.name}", reader.read, None, next(iter(seed.files)))
    baseline = _baseline(target, seed, _BASELINES)
    assert len(baseline) > 0
    _check_reader_result(reader, baseline, baseline)


# ============================================================ regressions found by fuzzing
# Each is the smallest input, found by the properties above, on which a loader or reader
# raised something other than InputDataError, returned data breaking its contract, or named
# the wrong place. They run on tiny hand-made files (test_data_builders), without the seeds.
@dataclass
class Regression:
    run: Callable[[], object]
    file: str
    column: str | None  # what the message must name (None: no column)
    rows: str | None  # e.g. "row 2", "feature 1", "line 3"
    phrases: tuple[str, ...]


def _csv(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def _frame_csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def first_row_longer_than_header(tmp: Path) -> Regression:
    # pandas took the two extra fields as row labels and shifted every column: the age
    # column then held a count and the wide population raised TypeError
    wide = _frame_csv(population_wide(CODES4, years=(2022,))).split("\n")
    wide[1] += ",7,8"
    path = _csv(tmp / "population.csv", "\n".join(wide))
    return Regression(lambda: load_population(path), "population.csv", None, "row 2",
                      ("row 2 has 190 fields but the header has 188",))


def first_row_longer_than_header_in_reader(tmp: Path) -> Regression:
    path = _csv(tmp / "national.csv", "year,drug_poisoning\n2021,4859,3060\n2020,4561\n")
    return Regression(lambda: R.read_deaths_national(path), "national.csv", None, "row 2",
                      ("row 2 has 3 fields but the header has 2",))


def huge_whole_number_in_nullable_int(tmp: Path) -> Regression:
    # imd_rank is nullable (Int64): 1e20 raised "TypeError: cannot safely cast non-equivalent
    # float64 to int64"
    frame = geography_frame()
    frame["imd_rank"] = frame["imd_rank"].astype(str)
    frame.loc[1, "imd_rank"] = "1e20"
    path = _csv(tmp / "geography.csv", _frame_csv(frame))
    return Regression(lambda: load_geography(path), "geography.csv", "imd_rank", "row 3",
                      ("number too large:", "expected a whole number below 9,007,199,254,740,992"))


def huge_whole_number_in_count(tmp: Path) -> Regression:
    # 2**64 overflowed int64 and was reported as "must be 0 or more (found -9223372036854775808)"
    frame = counts_frame("deaths").astype({"count": str})
    frame.loc[2, "count"] = "18446744073709551616"
    path = _csv(tmp / "deaths.csv", _frame_csv(frame))
    return Regression(lambda: load_deaths(path), "deaths.csv", "count", "row 4",
                      ("number too large: '18446744073709551616'",))


def population_count_beyond_int32_wide(tmp: Path) -> Regression:
    # cast to int32 silently: 4294967296 people became 0
    wide = population_wide(CODES4, years=(2022,)).astype({"F0": object})
    wide.loc[0, "F0"] = "4294967296"
    path = _csv(tmp / "population.csv", _frame_csv(wide))
    return Regression(lambda: load_population(path), "population.csv", "F0", "row 2",
                      ("count too large", "at most 2,147,483,647 people"))


def population_count_beyond_int32_long(tmp: Path) -> Regression:
    # clipped silently to 2,147,483,647
    long = pd.DataFrame({"small_area_code": ["X01000001", "X01000001"], "year": [2022, 2022],
                         "sex": ["male", "female"], "age": [30, 30], "population": ["3000000000", "12"]})
    path = _csv(tmp / "population.csv", _frame_csv(long))
    return Regression(lambda: load_population(path), "population.csv", "population", "row 2",
                      ("count too large", "3000000000"))


def blank_first_line(tmp: Path) -> Regression:
    # pandas.errors.EmptyDataError: No columns to parse from file
    path = _csv(tmp / "prison_releases.csv", "\n" + _frame_csv(prison_frame()))
    return Regression(lambda: load_prison_releases(path, today=TODAY), "prison_releases.csv", None, "row 1",
                      ("the first line is blank",))


def semicolon_separated(tmp: Path) -> Regression:
    # with a comma inside a value, the one-column header shifted the columns of row 2
    frame = services_frame()
    frame.loc[0, "site_name"] = "Central hub, Anytown"
    path = _csv(tmp / "services.csv", frame.to_csv(index=False, sep=";"))
    return Regression(lambda: load_services(path), "services.csv", None, "row 2",
                      ("row 2 has 2 fields but the header has 1", "the file looks semicolon-separated"))


def title_line_above_header(tmp: Path) -> Regression:
    path = _csv(tmp / "deaths.csv", "Table 1: deaths\n" + _frame_csv(counts_frame("deaths")))
    return Regression(lambda: load_deaths(path), "deaths.csv", None, "row 2",
                      ("the first line reads as one column 'Table 1: deaths'", "no title lines above it"))


def unclosed_quote(tmp: Path) -> Regression:
    # reported against row 1 as "cannot be read as CSV: ... EOF inside string starting at row 3"
    text = _frame_csv(counts_frame("deaths")).split("\n")
    text[3] = text[3].replace("X01000001", '"X01000001', 1)
    path = _csv(tmp / "deaths.csv", "\n".join(text))
    return Regression(lambda: load_deaths(path), "deaths.csv", None, "row 4",
                      ("a quoted value that starts on row 4 is never closed",))


def persons_wide_empty_reference_date(tmp: Path) -> Regression:
    # the ONS persons layout dates its rows; an empty date raised KeyError: '[-1] not in index'
    rows = []
    for i, code in enumerate(CODES4[:2]):
        ages = {f"age_{a}": 3 + (a + i) % 4 for a in range(91)}
        rows.append({"lsoa11_code": code, "reference_date": "2020-06-30" if i else "",
                     "total_population": sum(ages.values()), **ages})
    path = _csv(tmp / "mye2020_persons_lsoa11.csv", _frame_csv(pd.DataFrame(rows)))
    return Regression(lambda: load_population(path), "mye2020_persons_lsoa11.csv", "reference_date", "row 2",
                      ("missing value",))


def _geojson(path: Path, rings: list) -> Path:
    features = [{"type": "Feature", "properties": {"small_area_code": f"X0100000{i + 1}"},
                 "geometry": {"type": "Polygon", "coordinates": [ring]}} for i, ring in enumerate(rings)]
    doc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
           "features": features}
    path.write_text(json.dumps(doc))
    return path


_SQUARE = [[-2.3, 52.0], [-2.29, 52.0], [-2.29, 52.01], [-2.3, 52.01], [-2.3, 52.0]]


def boundary_ring_of_two_points(tmp: Path) -> Regression:
    # GEOS could not build the ring: the whole file was "cannot be read", no feature named
    path = _geojson(tmp / "boundaries.geojson", [_SQUARE, [[-2.3, 52.0], [-2.3, 52.0]]])
    return Regression(lambda: load_boundaries(path), "boundaries.geojson", "geometry", "feature 2",
                      ("empty, missing or unreadable geometry",))


def boundary_far_outside_great_britain(tmp: Path) -> Regression:
    # a latitude beyond 90 reprojected to Infinity and the polygon was returned
    path = _geojson(tmp / "boundaries.geojson", [_SQUARE, [[-2.3, 52.0], [1e300, 52.0], [-2.3, 100.0], [-2.3, 52.0]]])
    return Regression(lambda: load_boundaries(path), "boundaries.geojson", "geometry", "feature 2",
                      ("coordinates outside Great Britain",))


def boundary_collapsed_to_a_line(tmp: Path) -> Regression:
    # a zero-area ring: make_valid turned it into a line, returned as a "polygon"
    path = _geojson(tmp / "boundaries.geojson",
                    [_SQUARE, [[-2.3, 52.0], [-2.29, 52.0], [-2.28, 52.0], [-2.29, 52.0], [-2.3, 52.0]]])
    return Regression(lambda: load_boundaries(path), "boundaries.geojson", "geometry", "feature 2",
                      ("polygon with no area",))


def excel_infinite_cell(tmp: Path) -> Regression:
    # pandas raised OverflowError converting the cell: "cannot be read as an Excel workbook"
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    frame = counts_frame("deaths")
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append(list(row))
    sheet["F3"] = -1.7976931348623157e308  # written rounded, it reads back as -inf
    path = tmp / "deaths.xlsx"
    book.save(path)
    return Regression(lambda: load_deaths(path), "deaths.xlsx", "F", "row 3", ("cell F3 holds -inf",))


def reader_not_utf8(tmp: Path) -> Regression:
    # the byte offset was pandas' offset within a chunk, and no line was named
    path = _csv(tmp / "region.csv", "Year of death registration,Usual residence code,Usual residence name,"
                "Substance,Deaths\n2020,E12000001,North East,01 All drug poisonings,389\n"
                "2020,E12000002,Caf\u00e9,01 All drug poisonings,771\n".encode("cp1252"))
    return Regression(lambda: R.read_deaths_by_region(path), "region.csv", None, "line 3",
                      ("not UTF-8 text: byte 0xE9",))


def reader_header_only_comparators(tmp: Path) -> Regression:
    # ValueError: No objects to concatenate
    path = _csv(tmp / "comparators.csv", "area_code,area_name,geography_level,topic,category,count\n")
    return Regression(lambda: R.read_characteristic_comparators(path), "comparators.csv", "topic", "row 2",
                      ("no religion, disability or ethnic group rows",))


def reader_unchecked_area_code(tmp: Path) -> Regression:
    # returned as it was: read_deaths_by_region checked neither codes nor counts
    path = _csv(tmp / "region.csv", "Year of death registration,Usual residence code,Usual residence name,"
                "Substance,Deaths\n2020,E12000001,North East,01 All drug poisonings,389\n"
                "2020,-2.1e-79,North West,01 All drug poisonings,771\n")
    return Regression(lambda: R.read_deaths_by_region(path), "region.csv", "area_code", "row 3",
                      ("expected a GSS area code",))


def reader_negative_admissions(tmp: Path) -> Regression:
    path = _csv(tmp / "admissions.csv", "financial_year,location_type,location,area_code,measure,admissions\n"
                "2018/19,Region,North East,E12000001,Admissions with a primary diagnosis of poisoning by drug "
                "misuse,-5\n")
    return Regression(lambda: R.read_admissions(path), "admissions.csv", "admissions", "row 2",
                      ("expected a count of 0 or more",))


def reader_infinite_count(tmp: Path) -> Regression:
    # 1e400 is inf in float64: astype(int64) raised IntCastingNaNError
    path = _csv(tmp / "national.csv", "year,drug_poisoning\n2021,4859\n2020,1e400\n")
    return Regression(lambda: R.read_deaths_national(path), "national.csv", "drug_poisoning", "row 3",
                      ("not a whole number: '1e400'",))


def reader_row_of_melted_table(tmp: Path) -> Regression:
    # rows were counted in the melted table: a bad 1994 value of the 2nd area was "row 5"
    path = _csv(tmp / "deaths_by_la.csv", "code,name,1995,1994,1993\nE92000001,ENGLAND,1,2,3\n"
                "E06000001,Hartlepool,4,x9,6\n")
    return Regression(lambda: R.read_deaths_by_la(path), "deaths_by_la.csv", "year columns", "row 3",
                      ("not a whole number: 'x9'",))


def reader_census_age_total(tmp: Path) -> Regression:
    # named neither the column nor the row of the published total
    ages = "".join(f"E06000001,Hartlepool,ltla,{a},{10 + a}\n" for a in range(91))
    path = _csv(tmp / "ts007.csv", "area_code,area_name,geography_level,age,usual_residents\n"
                "E06000001,Hartlepool,ltla,Total,1\n" + ages)
    return Regression(lambda: R.read_census_age(path), "ts007.csv", "usual_residents", "row 2",
                      ("do not add up to the published total for E06000001",))


def reader_census_age_conflicting_repeat(tmp: Path) -> Regression:
    # the second count of a repeated area and age was dropped without a word
    ages = [f"E06000001,Hartlepool,ltla,{a},{10 + a}\n" for a in range(91)]
    ages.insert(6, "E06000001,Hartlepool,ltla,5,99\n")  # spreadsheet row 9, after age 5 on row 8
    total = sum(10 + a for a in range(91))
    path = _csv(tmp / "ts007.csv", "area_code,area_name,geography_level,age,usual_residents\n"
                f"E06000001,Hartlepool,ltla,Total,{total}\n" + "".join(ages))
    return Regression(lambda: R.read_census_age(path), "ts007.csv", "usual_residents", "rows 8, 9",
                      ("E06000001 5 appears more than once with different counts",))


def reader_category_row_within_a_topic(tmp: Path) -> Regression:
    # rows were counted within the topic: the bad disability category on row 4 was "row 2"
    path = _csv(tmp / "comparators.csv", "area_code,area_name,geography_level,topic,category,count\n"
                "E92000001,England,country,religion (TS030),No religion,100\n"
                "E92000001,England,country,religion (TS030),Christian,200\n"
                "E92000001,England,country,disability (TS038),Disabled,30\n")
    return Regression(lambda: R.read_characteristic_comparators(path), "comparators.csv", "category", "row 4",
                      ("unknown disability category ['Disabled']",))


REGRESSIONS = [
    first_row_longer_than_header, first_row_longer_than_header_in_reader, huge_whole_number_in_nullable_int,
    huge_whole_number_in_count, population_count_beyond_int32_wide, population_count_beyond_int32_long,
    blank_first_line, semicolon_separated, title_line_above_header,
    unclosed_quote, persons_wide_empty_reference_date, boundary_ring_of_two_points,
    boundary_far_outside_great_britain, boundary_collapsed_to_a_line, excel_infinite_cell, reader_not_utf8,
    reader_header_only_comparators, reader_unchecked_area_code, reader_negative_admissions,
    reader_infinite_count, reader_row_of_melted_table, reader_census_age_total, reader_census_age_conflicting_repeat,
    reader_category_row_within_a_topic,
]


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize("make", REGRESSIONS, ids=[r.__name__ for r in REGRESSIONS])
def test_fuzzing_regression_is_reported_precisely(tmp_path, make):
    case = make(tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(InputDataError) as info:
        case.run()
    message = str(info.value)
    lines = [line for line in message.splitlines() if case.file in line]
    assert lines, message
    where = f"column '{case.column}'" if case.column else None
    assert any((where is None or where in line) and (case.rows is None or f"{case.rows}:" in line
                                                      or f"{case.rows}," in line) for line in lines), message
    for phrase in case.phrases:
        assert phrase in message, message
    assert snapshot(tmp_path) == before


def test_spiked_boundary_is_repaired_to_its_polygon(tmp_path):
    """A ring that doubles back on itself (a spike) is repaired to the polygon alone; GEOS
    make_valid returned a GeometryCollection of the polygon and the spike's line."""
    spike = [[-2.3, 52.0], [-2.29, 52.0], [-2.29, 52.01], [-2.29, 52.02], [-2.29, 52.01], [-2.3, 52.01], [-2.3, 52.0]]
    path = _geojson(tmp_path / "boundaries.geojson", [_SQUARE, spike])
    out = load_boundaries(path)
    assert list(out.geom_type) == ["Polygon", "Polygon"]
    assert out.geometry.is_valid.all()
    # the repaired polygon is the square the spike stood on
    assert out.geometry.iloc[1].area == pytest.approx(out.geometry.iloc[0].area, rel=1e-6)


def test_header_with_a_quoted_line_break_loads(tmp_path):
    """A header cell holding a line break (Alt+Enter in Excel) is one quoted cell; the
    header used to be read from its first physical line only (pandas ParserError)."""
    (tmp_path / "plain").mkdir()
    plain = _csv(tmp_path / "plain" / "services.csv", _frame_csv(services_frame()))
    broken = _csv(tmp_path / "services.csv", _frame_csv(services_frame()).replace("site_id", '"site\nid"', 1))
    pd.testing.assert_frame_equal(load_services(broken), load_services(plain))


def test_census_age_area_code_with_spaces_is_the_same_area(tmp_path):
    """' E06000001' on one row is E06000001: codes are stripped before the ages are summed.
    A padded row of age 95 used to make a group of its own among the ages summed into 90+,
    one of the two groups was then dropped, and the published total no longer added up."""
    rows = [f"E06000001,Hartlepool,ltla,{a},{10 + a}\n" for a in range(101)]
    head = "area_code,area_name,geography_level,age,usual_residents\n"
    total = f"E06000001,Hartlepool,ltla,Total,{sum(10 + a for a in range(101))}\n"
    plain = _csv(tmp_path / "plain.csv", head + total + "".join(rows))
    rows[95] = " " + rows[95]
    padded = _csv(tmp_path / "padded.csv", head + total + "".join(rows))
    pd.testing.assert_frame_equal(R.read_census_age(padded), R.read_census_age(plain))
