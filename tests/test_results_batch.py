"""ResultsRecorder.batch(): many results recorded with one write of the chapter's file."""

from __future__ import annotations

import json

import pytest

from needs_assessment.results import ResultsRecorder


def _record(rec: ResultsRecorder, n: int) -> None:
    for i in range(n):
        rec.indicator(f"places.rate.X{i:03d}", label=f"Rate, place {i}", value=float(i),
                      unit="per 100,000", period="2024", area=f"Place {i}",
                      comparisons=[{"label": "Area", "value": 1.5, "result": "Similar"}])


def test_batch_writes_once_what_single_calls_write(tmp_path, monkeypatch):
    one_by_one = ResultsRecorder(tmp_path / "a", "places", title="Places")
    _record(one_by_one, 5)
    one_by_one.note("Maps", "No boundaries", kind="absent")

    batched = ResultsRecorder(tmp_path / "b", "places", title="Places")
    writes = []
    real_save = ResultsRecorder._save

    def counting_save(self):
        writes.append(self._batch_depth)
        real_save(self)

    monkeypatch.setattr(ResultsRecorder, "_save", counting_save)
    with batched.batch():
        _record(batched, 5)
        with batched.batch():  # nested blocks write only when the outermost ends
            batched.note("Maps", "No boundaries", kind="absent")
        assert not batched.path.exists()
    # six calls inside the block, one file write after it
    assert sum(1 for depth in writes if depth == 0) == 1
    assert batched.path.read_bytes() == one_by_one.path.read_bytes()


def test_batch_keeps_what_was_recorded_when_the_block_fails(tmp_path):
    rec = ResultsRecorder(tmp_path, "places", title="Places")
    with pytest.raises(RuntimeError), rec.batch():
        _record(rec, 3)
        raise RuntimeError("a later step failed")
    saved = json.loads(rec.path.read_text(encoding="utf-8"))
    assert [i["key"] for i in saved["indicators"]] == [
        "places.rate.X000", "places.rate.X001", "places.rate.X002"]


def test_duplicate_key_is_still_refused_inside_a_batch(tmp_path):
    rec = ResultsRecorder(tmp_path, "places")
    with pytest.raises(ValueError, match="recorded twice"), rec.batch():
        _record(rec, 1)
        _record(rec, 1)
