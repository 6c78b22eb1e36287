"""fetch-public-data: downloads with provenance, no partial files, a clear offline message.
No real network: local file:// URLs and a fake opener stand in for the publishers."""

from __future__ import annotations

import hashlib
import io
import json
import urllib.error
import zipfile
from pathlib import Path

import pytest
import yaml

from needs_assessment import cli
from needs_assessment.params import load_params
from needs_assessment.public_data import fetch as F
from needs_assessment.public_data.fetch import FetchError, Publication, fetch_public_data


def _params(tmp_path: Path, **public):
    raw = {
        "area": {"name": "Town", "slug": "town", "code": "E06000001", "structure": "unitary",
                 "reporting_geography": "ward"},
        "period": {"start_year": 2022, "end_year": 2024},
        "public_data_dir": "public",
        "public_data": public,
        "data": {"directory": "illustrative", "files": {"geography": "g.csv", "population": "p.csv"}},
        "notebooks": ["01_area_profile.ipynb"],
    }
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_params(path, check_files=False)


def _only(params_keys: dict) -> dict:
    """Switch every public dataset off except those given."""
    from needs_assessment.params import PublicDataFiles

    off = {k: None for k in PublicDataFiles.model_fields}
    return off | params_keys


def test_registry_covers_every_public_dataset_with_licence_and_landing_page():
    from needs_assessment.params import PublicDataFiles

    registry = F.load_registry()
    assert set(PublicDataFiles.model_fields) <= set(registry)
    for pub in registry.values():
        assert pub.method in ("csv", "nomis_zip", "arcgis", "manual")
        assert pub.landing_page.startswith("https://") and "OGL" in pub.licence
        if pub.method in ("csv", "nomis_zip"):
            assert pub.download_url.startswith("https://")


def test_csv_download_records_provenance(tmp_path):
    source = tmp_path / "file7.csv"
    content = b"LSOA code (2021),Index of Multiple Deprivation (IMD) Score\nE01000001,12.5\n"
    source.write_bytes(content)
    registry = {"imd": Publication(key="imd", title="IoD 2025 File 7", publisher="MHCLG",
                                   landing_page="https://www.gov.uk/x", method="csv", download_url=source.as_uri())}
    params = _params(tmp_path, **_only({"imd": "geography/file7.csv"}))
    report = fetch_public_data(params, tmp_path / "out", registry=registry)
    written = tmp_path / "out" / "geography" / "file7.csv"
    assert written.read_bytes() == content
    prov = json.loads((tmp_path / "out" / "PROVENANCE.json").read_text())
    (item,) = prov["datasets"]
    assert item["key"] == "imd" and item["urls"] == [source.as_uri()]
    assert item["sha256"] == hashlib.sha256(content).hexdigest()
    assert item["bytes"] == len(content) and item["path"] == "geography/file7.csv"
    assert item["retrieved"].endswith("+00:00")
    assert report.fetched[0]["sha256"] == item["sha256"]
    assert not list((tmp_path / "out").rglob("*.part"))  # no partial files left


def test_nomis_zip_members_are_joined(tmp_path):
    archive = tmp_path / "census2021-ts007.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("census2021-ts007-ctry.csv", "date,geography,geography code,Age: Total\n2021,England,E92000001,5\n")
        zf.writestr("census2021-ts007-ltla.csv", "date,geography,geography code,Age: Total\n2021,Town,E06000001,2\n")
    registry = {"census_age": Publication(
        key="census_age", title="TS007", publisher="ONS", landing_page="https://www.nomisweb.co.uk/",
        method="nomis_zip", download_url=archive.as_uri(),
        extra={"members": ["census2021-ts007-ctry.csv", "census2021-ts007-ltla.csv"]})}
    params = _params(tmp_path, **_only({"census_age": "population/ts007.csv"}))
    fetch_public_data(params, tmp_path / "out", registry=registry)
    lines = (tmp_path / "out" / "population" / "ts007.csv").read_text().splitlines()
    assert lines == ["date,geography,geography code,Age: Total", "2021,England,E92000001,5", "2021,Town,E06000001,2"]


class _FakeArcGIS:
    """Answers ArcGIS feature-service queries like the ONS Open Geography Portal."""

    def __init__(self):
        self.urls = []

    def __call__(self, request, timeout=None):
        url = request.full_url
        self.urls.append(url)
        if "LTLA23_UTLA23" in url:
            body = {"features": [{"attributes": {"LTLA23CD": "E06000001", "LTLA23NM": "Town",
                                                 "UTLA23CD": "E06000001", "UTLA23NM": "Town"}}]}
        elif "LSOA21_WD24" in url:
            body = {"features": [{"attributes": {"LSOA21CD": f"E0100000{i}", "LSOA21NM": f"Town 001{c}",
                                                 "WD24CD": "E05000001", "WD24NM": "Centre", "LAD24CD": "E06000001",
                                                 "LAD24NM": "Town"}} for i, c in ((1, "A"), (2, "B"))]}
        else:  # boundaries
            body = {"type": "FeatureCollection", "features": [
                {"type": "Feature", "properties": {"LSOA21CD": "E01000001"},
                 "geometry": {"type": "Polygon", "coordinates": [[[0, 51], [0.01, 51], [0.01, 51.01], [0, 51]]]}}]}
        return io.BytesIO(json.dumps(body).encode())


def test_arcgis_lookup_then_boundaries_for_the_area(tmp_path):
    registry = {k: v for k, v in F.load_registry().items() if k in ("lookup", "boundaries")}
    params = _params(tmp_path, **_only({"lookup": "geography/lookup.csv", "boundaries": "geography/lsoa.geojson"}))
    opener = _FakeArcGIS()
    report = fetch_public_data(params, tmp_path / "out", registry=registry, opener=opener)
    assert [item["key"] for item in report.fetched] == ["lookup", "boundaries"]
    lookup = (tmp_path / "out" / "geography" / "lookup.csv").read_text().splitlines()
    assert lookup[0] == "LSOA21CD,LSOA21NM,WD24CD,WD24NM,LAD24CD,LAD24NM,UTLA23CD,UTLA23NM"
    assert lookup[1].endswith("E06000001,Town,E06000001,Town")
    assert "LAD24CD+IN+%28%27E06000001%27%29" in opener.urls[1]
    boundary_query = opener.urls[-1]
    assert "E01000001" in boundary_query and "E01000002" in boundary_query and "outSR=4326" in boundary_query
    geo = json.loads((tmp_path / "out" / "geography" / "lsoa.geojson").read_text())
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 1


def test_offline_fails_clearly_and_writes_nothing(tmp_path):
    def offline(request, timeout=None):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    params = _params(tmp_path, **_only({"imd": "geography/file7.csv"}))
    with pytest.raises(FetchError) as info:
        fetch_public_data(params, tmp_path / "out", opener=offline)
    message = str(info.value)
    assert "No network" in message and "public_data_dir" in message and "shared/reference" in message
    assert not (tmp_path / "out").exists()


def test_cli_offline_exit_code(tmp_path, monkeypatch, capsys):
    def offline(request, timeout=None):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(F.urllib.request, "urlopen", offline)
    params = _params(tmp_path, **_only({"imd": "geography/file7.csv"}))
    code = cli.main(["fetch-public-data", "--params", str(params.source_file), "--to", str(tmp_path / "out")])
    assert code == 4
    assert "point public_data_dir" in capsys.readouterr().err


def test_refuses_to_write_into_a_folder_it_did_not_fetch(tmp_path):
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "README.md").write_text("somebody's reference data")
    params = _params(tmp_path, **_only({"imd": "geography/file7.csv"}))
    with pytest.raises(FetchError, match="not fetched by this command"):
        fetch_public_data(params, opener=lambda *a, **k: io.BytesIO(b""))


def test_manual_publications_are_listed_with_their_steps(tmp_path):
    source = tmp_path / "2020localauthorities.xls"
    source.write_bytes(b"raw spreadsheet bytes")
    registry = {"drug_poisoning_deaths": Publication(
        key="drug_poisoning_deaths", title="Drug deaths by LA", publisher="ONS", landing_page="https://www.ons.gov.uk/x",
        method="manual", download_url=source.as_uri(), convert="Save the table as CSV."),
        "drug_admissions": Publication(key="drug_admissions", title="Admissions", publisher="NHS Digital",
                                       landing_page="https://digital.nhs.uk/x", method="manual", convert="Reshape.")}
    params = _params(tmp_path, **_only({"drug_poisoning_deaths": "indicators/deaths.csv",
                                        "drug_admissions": "indicators/admissions.csv"}))
    report = fetch_public_data(params, tmp_path / "out", registry=registry)
    assert (tmp_path / "out" / "raw" / "2020localauthorities.xls").read_bytes() == b"raw spreadsheet bytes"
    keys = {item["key"]: item for item in report.manual}
    assert keys["drug_poisoning_deaths"]["raw_path"] == "raw/2020localauthorities.xls"
    assert "raw_path" not in keys["drug_admissions"]
    assert "Reshape." in report.summary()
    prov = json.loads((tmp_path / "out" / "PROVENANCE.json").read_text())
    assert {m["key"] for m in prov["manual"]} == {"drug_poisoning_deaths", "drug_admissions"}
