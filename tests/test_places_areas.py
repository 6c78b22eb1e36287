"""Places chapter on the generated areas: it finds the planted disparities (PLANTED) at the
run's 95% confidence level, handles small-count wards, and survives absent data."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from needs_assessment.analysis import places as pl
from needs_assessment.data import load_area
from needs_assessment.params import load_params
from needs_assessment.synthetic import PLANTED

REPETITIONS = 20_000  # enough for stable 95% limits; the notebook uses 100,000


@pytest.fixture(scope="module")
def county(synthetic_params):
    params = load_params(synthetic_params("default"))
    return params, load_area(params)


@pytest.fixture(scope="module")
def unitary(synthetic_params):
    params = load_params(synthetic_params("anytown"))
    return params, load_area(params)


@pytest.fixture(scope="module")
def county_gradients(county):
    params, area = county
    return {g.measure.key: g for g in
            pl.deprivation_gradient(area, pl.places_context(params), repetitions=REPETITIONS)}


def _significant(g) -> bool:
    return g.system is not None and g.index["rii_lower"] > 1


def test_county_deprivation_gradient_is_found(county_gradients):
    # PLANTED: deaths and admissions in decile 1 are 3x decile 10
    assert PLANTED["county"].deprivation_ratio == 3.0
    deaths = [county_gradients[k] for k in ("drug_misuse_deaths", "alcohol_specific_deaths")]
    admissions = [county_gradients[k] for k in
                  ("drug_poisoning_admissions", "drug_mental_behavioural_admissions", "alcohol_admissions")]
    assert any(_significant(g) for g in deaths)
    assert all(_significant(g) for g in admissions)
    # the large alcohol admissions series recovers a ratio of the planted size
    rii = county_gradients["alcohol_admissions"].index["rii"]
    assert 2.0 < rii < 5.0
    # SII and RII agree in direction: higher rates in more deprived places
    for g in admissions:
        assert g.index["sii"] > 0 and g.index["sii_lower"] > 0


def test_county_gradient_uses_national_deciles_where_numbers_allow(county_gradients):
    assert county_gradients["alcohol_admissions"].system == "national_decile"
    assert county_gradients["alcohol_admissions"].index["quantiles"] == 10
    # drug misuse deaths: some deciles have fewer than 5 deaths -> coarser quantiles
    assert county_gradients["drug_misuse_deaths"].system in ("national_quintile", "local_quintile")
    deciles = county_gradients["drug_misuse_deaths"].deciles
    few = deciles["count"] < 10
    assert deciles.loc[few, "value"].isna().all()
    assert deciles.loc[few, "note"].str.startswith("Not calculated").all()


def test_gradient_is_reproducible(county):
    params, area = county
    c = pl.places_context(params)
    small = dataclasses.replace(area, deaths=None, crime=None, treatment_episodes=None)
    a = pl.deprivation_gradient(small, c, repetitions=2000, seed=7)
    b = pl.deprivation_gradient(small, c, repetitions=2000, seed=7)
    assert [g.index for g in a] == [g.index for g in b]


def test_planted_low_ocu_penetration_area_shows_as_treatment_gap(county, unitary):
    # PLANTED 1: Southbridge (county) / Dockside (unitary) have high OCU need and low
    # penetration; the chapter should flag worse drug harm without higher OCU treatment.
    for (params, area), variant in ((county, "county"), (unitary, "unitary")):
        c = pl.places_context(params)
        geo, pop = area.geography, area.population
        treat = pl.treatment_rates(area.treatment_episodes, pop, geo, c)
        results = {}
        deaths = pl.standardised_rates(area.deaths, pop, geo, c, column="cause", codes=pl.DEATH_CAUSES)
        adm = pl.standardised_rates(area.admissions, pop, geo, c, column="condition",
                                    codes=pl.ADMISSION_CONDITIONS)
        results["drug_misuse_deaths"] = deaths[deaths["measure"] == "drug_misuse"]
        results["drug_poisoning_admissions"] = adm[adm["measure"] == "drug_poisoning"]
        results["drug_mental_behavioural_admissions"] = adm[adm["measure"] == "drug_mental_behavioural"]
        results["drug_offences"] = pl.drug_offence_rates(area.crime, pop, geo, c)
        gaps = pl.treatment_gaps(pl.standout_places(results, treat))
        flagged = {g["area_code"] for g in gaps if g["family"] == "drug"}
        assert PLANTED[variant].low_penetration_area_code in flagged


def test_unitary_wards_small_counts_not_calculated(unitary):
    params, area = unitary
    c = pl.places_context(params)
    assert c.level == "ward"
    out = pl.standardised_rates(area.deaths, area.population, area.geography, c,
                                column="cause", codes=pl.DEATH_CAUSES)
    wards = out[out["row"] == "sub_area"]
    assert wards["area_code"].nunique() == area.geography["ward_code"].nunique() == 20
    small = wards[wards["count"] < 10]
    assert len(small) > 0
    assert small["value"].isna().all() and small["lower"].isna().all()
    assert (small["note"] == "Not calculated: fewer than 10 deaths").all()
    assert (small["comparison"] == "Not compared").all()
    # every calculated ward rate rests on at least 10 deaths
    assert (wards.loc[wards["value"].notna(), "count"] >= 10).all()
    # but every ward still has a standardised ratio for the funnel plot
    assert wards["ratio"].notna().all()
    total = out[out["row"] == "total"]
    assert total["value"].notna().all()


def test_absent_crime_and_deaths(unitary):
    params, area = unitary
    c = pl.places_context(params)
    partial = dataclasses.replace(area, crime=None, deaths=None)
    assert pl.drug_offence_rates(partial.crime, partial.population, partial.geography, c) is None
    messages = pl.absent_messages(partial)
    assert {"offences", "deaths"} <= set(messages)
    gradients = pl.deprivation_gradient(partial, c, repetitions=2000)
    keys = {g.measure.key for g in gradients}
    assert "drug_offences" not in keys and "drug_misuse_deaths" not in keys
    assert "alcohol_admissions" in keys
    table, spec = pl.gradient_table(gradients, c)
    assert set(table["Measure"].str.split(" \\(").str[0]) == {g.measure.label for g in gradients}
    no_population = dataclasses.replace(area, population=None)
    assert "all" in pl.absent_messages(no_population)
    assert pl.deprivation_gradient(no_population, c) == []


def test_unitary_national_deciles_absent_are_said(unitary):
    params, area = unitary
    gradients = pl.deprivation_gradient(dataclasses.replace(area, deaths=None, treatment_episodes=None),
                                        pl.places_context(params), repetitions=2000)
    deciles = gradients[0].deciles
    empty = deciles[deciles["small_areas"] == 0]
    assert set(empty["quantile"]) == set(range(1, 11)) - set(area.geography["imd_decile"])
    assert (empty["note"] == "No small areas in this decile").all()
    assert np.isnan(empty["value"]).all()
