"""Params for real areas: the public_data section, data.illustrative, and the shipped files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from needs_assessment.params import ParamsError, PublicDataFiles, load_params


def _write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "area.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _base(**changes) -> dict:
    raw = {
        "area": {"name": "Town", "slug": "town", "code": "E06000001", "structure": "unitary",
                 "reporting_geography": "ward"},
        "period": {"start_year": 2022, "end_year": 2024},
        "public_data_dir": "public",
        "public_data": {},
        "data": {"directory": "illustrative", "illustrative": {"variant": "onto_public", "seed": 1},
                 "files": {"treatment_episodes": "treatment_episodes.csv"}},
        "notebooks": ["01_area_profile.ipynb"],
    }
    raw.update(changes)
    return raw


def test_defaults_match_the_reference_layout_and_resolve_from_the_params_folder(tmp_path):
    (tmp_path / "public").mkdir()
    params = load_params(_write(tmp_path, _base()), check_files=False)
    assert params.public_data == PublicDataFiles()
    paths = params.public_data_paths()
    assert paths["imd"] == tmp_path / "public" / "geography" / "imd2025_england_lsoa21.csv"
    assert paths["drug_poisoning_deaths"].name == "ons_drug_poisoning_deaths_by_la_1993_2020.csv"
    assert "crime" not in paths and "la_population_series" not in paths  # off by default
    assert params.data.files.geography is None and params.data.files.population is None
    assert "public_data.lookup" in params.input_paths()


def test_public_data_needs_a_folder(tmp_path):
    raw = _base()
    del raw["public_data_dir"]
    with pytest.raises(ParamsError, match="public_data: needs public_data_dir"):
        load_params(_write(tmp_path, raw), check_files=False)


def test_geography_must_come_from_somewhere(tmp_path):
    raw = _base(public_data={"lookup": None})
    with pytest.raises(ParamsError, match=r"data\.files\.geography: required unless public_data builds it"):
        load_params(_write(tmp_path, raw), check_files=False)
    raw = _base()
    del raw["public_data"]
    with pytest.raises(ParamsError, match=r"data\.files\.geography: required"):
        load_params(_write(tmp_path, raw), check_files=False)


def test_unknown_public_data_key_is_rejected(tmp_path):
    with pytest.raises(ParamsError, match=r"public_data\.imd_2025: unknown key"):
        load_params(_write(tmp_path, _base(public_data={"imd_2025": "x.csv"})), check_files=False)


@pytest.mark.parametrize(("data", "expected"), [
    ({"synthetic": {"variant": "onto_public", "seed": 1}}, r"put it under data\.illustrative"),
    ({"illustrative": {"variant": "county", "seed": 1}}, r"data\.illustrative\.variant: must be 'onto_public'"),
])
def test_generated_variants_go_in_the_right_place(tmp_path, data, expected):
    raw = _base()
    raw["data"] = {"directory": "d", "files": {}} | data
    with pytest.raises(ParamsError, match=expected):
        load_params(_write(tmp_path, raw), check_files=False)


def test_missing_public_folder_says_how_to_get_the_data(tmp_path):
    with pytest.raises(ParamsError) as info:
        load_params(_write(tmp_path, _base(public_data_dir="nowhere")))
    message = str(info.value)
    assert "public_data_dir: folder not found" in message
    assert "fetch-public-data" in message and "shared/reference" in message


def test_illustrative_files_are_not_required_before_generation(tmp_path):
    (tmp_path / "public").mkdir()
    for rel in PublicDataFiles().model_dump().values():
        if rel:
            (tmp_path / "public" / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / "public" / rel).write_text("x")
    params = load_params(_write(tmp_path, _base()))  # no error: treatment episodes are generated later
    assert params.illustrative_pending()
    (tmp_path / "illustrative").mkdir()
    with pytest.raises(ParamsError, match=r"data\.files\.treatment_episodes: file not found"):
        load_params(_write(tmp_path, _base()))


@pytest.mark.parametrize(("name", "code", "structure", "level", "region"), [
    ("gloucestershire", "E10000013", "two_tier", "district", "E12000009"),
    ("tower-hamlets", "E09000030", "unitary", "ward", "E12000007"),
])
def test_shipped_real_area_params(project_root, name, code, structure, level, region):
    params = load_params(project_root / "params" / f"{name}.yaml", check_files=False)
    assert (params.area.code, params.area.structure, params.area.reporting_geography) == (code, structure, level)
    assert params.area.region_code == region and params.area.illustrative_records
    assert params.public_data_dir == (project_root.parent / "shared" / "reference").resolve()
    assert params.data.illustrative.variant == "onto_public"
    assert params.data.synthetic is None
    assert params.data.directory == project_root / "data" / "illustrative" / name
    assert params.notebooks[:2] == ["01_area_profile.ipynb", "01b_published_harms.ipynb"]
    assert (params.period.start_year, params.period.end_year) == (2022, 2024)
    assert (params.public_data.crime is not None) == (name == "tower-hamlets")


def test_the_data_contract_needs_the_public_builder_passed_in(tmp_path):
    """data/ never imports public_data/: a real area loaded without the builder fails plainly
    and names the loader that passes it (needs_assessment.inputs.load_area)."""
    from needs_assessment.data import load_area

    params = load_params(_write(tmp_path, _base()), check_files=False)
    with pytest.raises(ValueError, match=r"needs build_public.*needs_assessment\.inputs\.load_area"):
        load_area(params)
