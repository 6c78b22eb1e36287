"""The characteristics dataset: population denominators by protected characteristic."""

from __future__ import annotations

import pytest

from needs_assessment.data import InputDataError
from needs_assessment.data.loaders import load_characteristics


def write(tmp_path, text: str):
    path = tmp_path / "characteristics.csv"
    path.write_bytes(text.encode("utf-8"))
    return path


def test_labels_are_normalised_to_treatment_codes(tmp_path):
    path = write(
        tmp_path,
        "area_code,characteristic,category,population\n"
        "E07000078,ethnicity,\"Asian, Asian British or Asian Welsh\",4100\n"
        "E07000078,ethnicity,White,101000\n"
        "E07000078,religion,No religion,50000\n",
    )
    frame = load_characteristics(path)
    assert list(frame["category"]) == ["asian", "white", "no_religion"]
    assert list(frame["population"]) == [4100, 101000, 50000]


@pytest.mark.parametrize(
    ("body", "column", "row", "expected"),
    [
        ("E07000078,ethnicity,martian,10\n", "category", 2, "not valid for its characteristic"),
        ("E07000078,shoe_size,large,10\n", "characteristic", 2, "unknown code"),
        ("E07000078,ethnicity,white,-3\n", "population", 2, "must be 0 or more"),
        ("E07000078,ethnicity,white,10\nE07000078,ethnicity,white,11\n", "area_code", "2, 3", "duplicate rows"),
    ],
)
def test_bad_rows_are_named(tmp_path, body, column, row, expected):
    path = write(tmp_path, "area_code,characteristic,category,population\n" + body)
    before = path.read_bytes()
    with pytest.raises(InputDataError) as err:
        load_characteristics(path)
    message = str(err.value)
    assert "characteristics.csv" in message
    assert column in message
    assert f"row {row}" in message or f"rows {row}" in message
    assert expected in message
    assert path.read_bytes() == before
