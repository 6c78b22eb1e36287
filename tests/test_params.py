"""Params validation: every problem is rejected with a message naming its key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from needs_assessment.params import ParamsError, load_params

BASE = {
    "area": {
        "name": "Testshire",
        "slug": "testshire",
        "structure": "two_tier",
        "reporting_geography": "district",
    },
    "period": {"start_year": 2022, "end_year": 2024},
    "data": {
        "directory": "data",
        "files": {"geography": "geography.csv", "population": "population.csv"},
    },
    "notebooks": ["01_area_profile.ipynb"],
}


def write_params(tmp_path: Path, data: dict, *, make_files: bool = True) -> Path:
    if make_files:
        (tmp_path / "data").mkdir(exist_ok=True)
        for name in ("geography.csv", "population.csv"):
            (tmp_path / "data" / name).write_text("x\n1\n")
    path = tmp_path / "area.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def merged(**overrides) -> dict:
    import copy

    data = copy.deepcopy(BASE)
    for dotted, value in overrides.items():
        node = data
        keys = dotted.split("__")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return data


def test_valid_params_resolve_paths_relative_to_the_file(tmp_path):
    params = load_params(write_params(tmp_path, BASE))
    assert params.area.slug == "testshire"
    assert params.data.directory == (tmp_path / "data").resolve()
    assert params.data_path("geography") == (tmp_path / "data" / "geography.csv").resolve()
    assert params.outputs_dir == (tmp_path.parent / "outputs").resolve()
    assert params.period.years == [2022, 2023, 2024]
    assert params.period.label == "2022 to 2024"


def test_environment_variables_are_expanded(tmp_path, monkeypatch):
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.setenv("NA_TEST_PUBLIC", str(tmp_path / "elsewhere"))
    params = load_params(write_params(tmp_path, merged(public_data_dir="$NA_TEST_PUBLIC")))
    assert params.public_data_dir == tmp_path / "elsewhere"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"colour": "blue"}, "colour: unknown key"),
        ({"area__nmae": "x"}, "area.nmae: unknown key"),
        ({"data__files__treatmnet_episodes": "t.csv"}, "data.files.treatmnet_episodes: unknown key"),
        ({"disclosure__treshold": 3}, "disclosure.treshold: unknown key"),
    ],
)
def test_unknown_keys_are_rejected_naming_the_key(tmp_path, overrides, expected):
    with pytest.raises(ParamsError) as err:
        load_params(write_params(tmp_path, merged(**overrides)))
    assert expected in str(err.value)
    assert str(tmp_path / "area.yaml") in str(err.value)


def test_missing_required_key_is_named(tmp_path):
    data = merged()
    del data["period"]["end_year"]
    with pytest.raises(ParamsError, match=r"period\.end_year: required key is missing"):
        load_params(write_params(tmp_path, data))


def test_missing_input_file_names_the_key_and_path(tmp_path):
    data = merged(data__files__deaths="deaths.csv")
    with pytest.raises(ParamsError) as err:
        load_params(write_params(tmp_path, data))
    message = str(err.value)
    assert "data.files.deaths: file not found" in message
    assert str(tmp_path / "data" / "deaths.csv") in message


def test_missing_linkable_list_names_the_list(tmp_path):
    data = merged(data__files__linkable_lists={"probation": "lists/probation.csv"})
    with pytest.raises(ParamsError, match=r"data\.files\.linkable_lists\.probation: file not found"):
        load_params(write_params(tmp_path, data))


def test_missing_public_data_dir_is_named(tmp_path):
    with pytest.raises(ParamsError, match=r"public_data_dir: folder not found"):
        load_params(write_params(tmp_path, merged(public_data_dir="no/such/folder")))


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (1850, 2024, r"period\.start_year: period\.start_year = 1850 is impossible"),
        (2022, dt.date.today().year + 1, r"period\.end_year: .* is impossible"),
        (2024, 2022, r"period: period\.start_year \(2024\) is after period\.end_year \(2022\)"),
    ],
)
def test_impossible_years_are_rejected(tmp_path, start, end, expected):
    data = merged(period__start_year=start, period__end_year=end)
    with pytest.raises(ParamsError, match=expected):
        load_params(write_params(tmp_path, data))


def test_wrong_type_is_reported_with_the_value(tmp_path):
    data = merged(period__start_year="last year")
    with pytest.raises(ParamsError, match=r"period\.start_year: .*'last year'"):
        load_params(write_params(tmp_path, data))


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"area__slug": "Test Shire"}, r"area\.slug"),
        ({"area__structure": "metropolitan"}, r"area\.structure"),
        ({"area__structure": "unitary"}, r"a unitary area has no districts"),
        ({"notebooks": ["a.ipynb", "a.ipynb"]}, r"notebooks: .*listed twice"),
        ({"notebooks": ["report.py"]}, r"notebooks: .*not a \.ipynb file"),
        ({"notebooks": []}, r"notebooks"),
        ({"statistics__confidence_level": 1.5}, r"statistics\.confidence_level"),
        ({"disclosure__threshold": 0}, r"disclosure\.threshold"),
        ({"data__files__linkable_lists": {"treatment": "t.csv"}}, r"derived from treatment_episodes"),
        ({"data__synthetic": {"variant": "moon", "seed": 1}}, r"data\.synthetic\.variant"),
    ],
)
def test_invalid_values_name_the_key(tmp_path, overrides, expected):
    with pytest.raises(ParamsError, match=expected):
        load_params(write_params(tmp_path, merged(**overrides)))


def test_not_yaml_and_not_a_mapping(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("area: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(ParamsError, match="must hold a mapping"):
        load_params(listy)
    with pytest.raises(ParamsError, match="Params file not found"):
        load_params(tmp_path / "absent.yaml")


def test_synthetic_area_skips_the_file_check_until_generated(tmp_path):
    data = merged(data__synthetic={"variant": "county", "seed": 3})
    params = load_params(write_params(tmp_path, data, make_files=False))
    assert params.data.synthetic.seed == 3
    with pytest.raises(ParamsError, match=r"data\.files\.geography: file not found"):
        params.check_inputs_exist()


def test_every_shipped_params_file_is_valid(project_root):
    files = sorted((project_root / "params").glob("*.yaml"))
    assert files, "params/ holds no YAML files"
    for path in files:
        params = load_params(path, check_files=False)
        for name in params.notebooks:
            assert (project_root / "notebooks" / name).is_file(), f"{path.name}: {name} missing"


def test_round_trip_through_json_settings(tmp_path):
    from needs_assessment.params import params_from_dict

    params = load_params(write_params(tmp_path, BASE))
    again = params_from_dict(params.model_dump(mode="json"))
    assert again.model_dump() == params.model_dump()


def test_params_readme_documents_every_key(project_root):
    from pydantic import BaseModel

    from needs_assessment.params import RunParams

    text = (project_root / "params" / "README.md").read_text()

    def paths(model, prefix=""):
        for name, field in model.model_fields.items():
            if name == "source_file":
                continue
            yield prefix + name
            for arg in (field.annotation, *getattr(field.annotation, "__args__", ())):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    yield from paths(arg, f"{prefix}{name}.")

    missing = [p for p in paths(RunParams) if f"`{p}`" not in text]
    assert not missing, f"params/README.md does not document: {missing}"
