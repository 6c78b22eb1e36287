"""What a chapter holds of an area read from the run's private cache: only the columns it
asks for, nothing it has let go of, and nothing read just to describe the area."""

from __future__ import annotations

import pandas as pd
import pytest

from needs_assessment import workspace
from needs_assessment.analysis.common import EPISODE_COLUMNS
from needs_assessment.data.area_data import AreaData

GEOGRAPHY = pd.DataFrame({"small_area_code": ["S1", "S2"], "district_code": ["D1", "D1"],
                          "district_name": ["Alpha", "Alpha"]})
EPISODES = pd.DataFrame({
    "episode_id": ["e1", "e2", "e3"], "client_id": ["c1", "c1", "c2"], "age": [30, 31, 45],
    "ethnicity": ["white", "white", "asian"], "small_area_code": ["S1", "S1", None],
})
LISTS = {"probation": pd.DataFrame({"client_id": ["c1"]})}


def _area() -> AreaData:
    return AreaData(geography=GEOGRAPHY, treatment_episodes=EPISODES, linkable_lists=LISTS)


@pytest.fixture
def cached(tmp_path):
    workspace.save_area(_area(), tmp_path / "cache")
    return workspace.load_area_cache(tmp_path / "cache")


def _unread(area, name) -> bool:
    return type(object.__getattribute__(area, name)) is workspace._Deferred


@pytest.mark.parametrize("source", ["memory", "cache"])
def test_with_columns_keeps_the_datasets_order_and_refuses_unknown_columns(source, cached):
    area = _area() if source == "memory" else cached
    narrow = area.with_columns(treatment_episodes=["client_id", "episode_id"])
    pd.testing.assert_frame_equal(narrow.treatment_episodes, EPISODES[["episode_id", "client_id"]])
    pd.testing.assert_frame_equal(narrow.geography, GEOGRAPHY)
    assert narrow.deaths is None and narrow.has("linkable_lists.probation")
    assert narrow.with_columns(deaths=["count"]).deaths is None  # not supplied: stays None
    with pytest.raises(ValueError, match="treatment_episodes has no column sex"):
        area.with_columns(treatment_episodes=["client_id", "sex"])
    with pytest.raises(KeyError, match="not a table dataset"):
        area.with_columns(linkable_lists=["client_id"])


def test_cached_with_columns_reads_only_those_columns(cached):
    narrow = cached.with_columns(treatment_episodes=["client_id", "age"])
    assert _unread(narrow, "treatment_episodes") and _unread(narrow, "geography")
    assert narrow.treatment_episodes.columns.tolist() == ["client_id", "age"]
    assert _unread(cached, "treatment_episodes")  # the area it came from is untouched


def test_unload_lets_a_cached_dataset_go_and_reads_it_again(cached):
    first = cached.treatment_episodes
    assert not _unread(cached, "treatment_episodes")
    cached.unload("treatment_episodes", "deaths")
    assert _unread(cached, "treatment_episodes")
    pd.testing.assert_frame_equal(cached.treatment_episodes, first)
    area = _area()
    area.unload("treatment_episodes")  # held in memory: kept
    assert area.treatment_episodes is EPISODES


def test_describing_a_cached_area_reads_nothing(cached):
    assert repr(cached) == repr(_area()) == (
        "AreaData(geography=2 rows, treatment_episodes=3 rows, linkable_lists=['probation'])")
    assert all(_unread(cached, n) for n in ("geography", "treatment_episodes", "linkable_lists"))


def test_the_chapters_episode_columns_are_in_the_data_contract():
    from needs_assessment.analysis import outcomes, places, prevalence
    from needs_assessment.data.schemas import treatment_episodes_schema

    contract = set(treatment_episodes_schema().columns)
    for columns in (EPISODE_COLUMNS, places.EPISODE_COLUMNS, outcomes.EPISODE_COLUMNS,
                    prevalence.EPISODE_COLUMNS):
        assert set(columns) <= contract
