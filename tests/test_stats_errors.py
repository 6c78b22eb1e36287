"""Bad inputs give a clear error naming the argument (or column) and the offending position."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from needs_assessment.stats import (
    byars_ci,
    compare_two_proportions,
    compare_two_rates,
    compare_with_benchmark,
    crude_rate,
    dsr,
    esp2013,
    funnel_limits,
    funnel_significance,
    isratio,
    pooled_dsr,
    pooled_rate,
    proportion,
    slope_index_of_inequality,
    trend_test,
    wilson_ci,
)


def test_negative_count_names_argument_and_position():
    with pytest.raises(ValueError, match=r"^count must be >= 0; got -1\.0 at position 1$"):
        crude_rate([5, -1, 3], [100, 100, 100])


def test_series_errors_report_the_index_label():
    counts = pd.Series([5, 7, -2], index=["E06000001", "E06000002", "E06000003"])
    with pytest.raises(
        ValueError, match=r"count must be >= 0; got -2\.0 at position 2 \(index label 'E06000003'\)"
    ):
        crude_rate(counts, 1000)


@pytest.mark.parametrize("bad", [0, -10])
def test_zero_or_negative_denominator(bad):
    with pytest.raises(
        ValueError, match=rf"^denominator must be > 0; got {float(bad)!r} at position 2$"
    ):
        crude_rate([1, 2, 3], [100, 100, bad])


def test_several_offenders_are_counted():
    with pytest.raises(ValueError, match=r"at position 0; 2 more at position\(s\) 2, 3"):
        crude_rate([-1, 2, -3, -4], 100)


def test_numerator_above_denominator_for_proportions():
    with pytest.raises(
        ValueError,
        match=r"^numerator must not exceed denominator for a proportion; got 11\.0 at position 0$",
    ):
        proportion([11, 3], [10, 10])
    with pytest.raises(ValueError, match="numerator must not exceed denominator"):
        wilson_ci(5, 4)
    with pytest.raises(ValueError, match="numerator2 must not exceed denominator2"):
        compare_two_proportions(1, 10, 12, 10)


def test_negative_numerator_and_zero_denominator_for_proportions():
    with pytest.raises(ValueError, match=r"^numerator must be >= 0; got -1\.0 at position 0$"):
        proportion(-1, 10)
    with pytest.raises(ValueError, match=r"^denominator must be > 0; got 0\.0 at position 1$"):
        proportion([1, 1], [10, 0])


def test_negative_count_for_intervals():
    with pytest.raises(ValueError, match="count must be >= 0"):
        byars_ci(-3)


@pytest.mark.parametrize("confidence", [0, 1, 95, -0.5, float("nan")])
def test_confidence_outside_unit_interval(confidence):
    with pytest.raises(ValueError, match="confidence must be in \\(0, 1\\)"):
        crude_rate(5, 100, confidence=confidence)


def test_confidence_given_as_percentage_gets_a_hint():
    with pytest.raises(ValueError, match="not a percentage"):
        proportion(5, 100, confidence=95)


@pytest.mark.parametrize("confidence", ["0.95", True, None])
def test_confidence_of_wrong_type(confidence):
    with pytest.raises(TypeError, match="confidence"):
        crude_rate(5, 100, confidence=confidence)


def test_multiplier_must_be_positive():
    with pytest.raises(ValueError, match="multiplier must be a positive"):
        crude_rate(5, 100, multiplier=0)


def test_non_numeric_input():
    with pytest.raises(TypeError, match="count must be numeric"):
        crude_rate(pd.Series(["1", "2"]), 100)
    with pytest.raises(TypeError, match="count must be numeric"):
        crude_rate([True, False], 100)


def test_incompatible_lengths():
    with pytest.raises(ValueError, match="incompatible lengths"):
        crude_rate([1, 2, 3], [10, 20])


def _esp_frame(**overrides):
    data = pd.DataFrame(
        {"area": "A", "age_band": esp2013().index, "count": 10.0, "population": 1000.0}
    )
    for k, v in overrides.items():
        data[k] = v
    return data


def test_dsr_negative_count_names_column_and_row():
    data = _esp_frame()
    data.loc[5, "count"] = -26
    with pytest.raises(
        ValueError,
        match=r"^column 'count' must be >= 0; got -26\.0 at position 5 \(index label 5\)$",
    ):
        dsr(data, by="area")


def test_dsr_missing_population():
    data = _esp_frame()
    data.loc[3, "population"] = np.nan
    with pytest.raises(
        ValueError, match=r"column 'population' must not be missing; got nan at position 3"
    ):
        dsr(data)


def test_dsr_missing_column():
    with pytest.raises(ValueError, match=r"column\(s\) not found in data: population='pop'"):
        dsr(_esp_frame(), population="pop")


def test_dsr_unknown_age_bands():
    data = _esp_frame()
    data.loc[0, "age_band"] = "Under five"
    with pytest.raises(ValueError, match="do not match the 19 ESP2013 bands"):
        dsr(data)


def test_dsr_group_missing_an_esp_band():
    data = pd.concat([_esp_frame(), _esp_frame(area="B").iloc[:-1]], ignore_index=True)
    with pytest.raises(ValueError, match="needs all 19 ESP2013 age bands"):
        dsr(data, by="area")


def test_dsr_duplicate_band_rows_point_to_pooled_dsr():
    data = pd.concat([_esp_frame(), _esp_frame()], ignore_index=True)
    with pytest.raises(ValueError, match="pooled_dsr"):
        dsr(data, by="area")
    assert pooled_dsr(data, by="area").loc[0, "total_count"] == 380


def test_dsr_negative_standard():
    data = _esp_frame(std=1000.0)
    data.loc[2, "std"] = -6000
    with pytest.raises(ValueError, match=r"column 'std' must be >= 0; got -6000\.0 at position 2"):
        dsr(data, standard="std")


def test_dsr_bad_event_frequency():
    data = _esp_frame(freq=1)
    data.loc[4, "freq"] = 0
    with pytest.raises(
        ValueError, match=r"column 'freq' must be a whole number >= 1; got 0\.0 at position 4"
    ):
        dsr(data, event_frequency="freq")


def test_dsr_requires_dataframe():
    with pytest.raises(TypeError, match="data must be a pandas DataFrame"):
        dsr({"count": [1]})


def test_pooled_rate_names_column():
    data = pd.DataFrame({"area": ["A", "A"], "deaths": [3, -1], "pop": [100, 100]}, index=[10, 11])
    with pytest.raises(
        ValueError,
        match=r"column 'deaths' must be >= 0; got -1\.0 at position 1 \(index label 11\)",
    ):
        pooled_rate(data, count="deaths", population="pop", by="area")


def test_isratio_errors():
    data = pd.DataFrame(
        {
            "count": [1, 2],
            "population": [10, 10],
            "reference_count": [1, 1],
            "reference_population": [10, 0],
        }
    )
    with pytest.raises(
        ValueError, match=r"column 'reference_population' must be > 0; got 0\.0 at position 1"
    ):
        isratio(data)
    data["reference_population"] = 10
    data.loc[0, "count"] = -1
    with pytest.raises(ValueError, match=r"column 'count' must be >= 0; got -1\.0 at position 0"):
        isratio(data)
    with pytest.raises(ValueError, match="no total for group"):
        isratio(data.assign(area=["A", "B"]), by="area", observed_totals=pd.Series({"A": 3}))


def test_rate_comparison_errors():
    with pytest.raises(ValueError, match=r"count2 must be >= 0; got -1\.0 at position 0"):
        compare_two_rates(1, 100, -1, 100)
    with pytest.raises(ValueError, match="denominator1 must be > 0"):
        compare_two_rates(1, 0, 1, 100)


def test_funnel_errors():
    with pytest.raises(ValueError, match=r"numerator must be >= 0; got -80\.0 at position 1"):
        funnel_significance([65, -80, 30], [100, 100, 200], statistic="proportion")
    with pytest.raises(ValueError, match=r"denominator must be > 0; got 0\.0 at position 2"):
        funnel_significance([65, 80, 30], [100, 100, 0], statistic="proportion")
    with pytest.raises(
        ValueError,
        match=r"numerator must not exceed denominator for a proportion; got 30\.0 at position 2",
    ):
        funnel_significance([65, 80, 30], [100, 100, 20], statistic="proportion")
    with pytest.raises(ValueError, match="statistic must be one of"):
        funnel_limits([1, 2], [10, 20], statistic="pop")
    with pytest.raises(ValueError, match="rate is required"):
        funnel_limits([1, 2], statistic="rate", rate_type="crude", years_of_data=1)
    with pytest.raises(ValueError, match="ratio_type must be one of"):
        funnel_limits([1, 2], [1.5, 2.5], statistic="ratio")
    with pytest.raises(ValueError, match="a denominator is needed"):
        funnel_significance([0, 5], statistic="rate", rate=[0.0, 10.0], rate_type="crude")


def test_benchmark_errors():
    with pytest.raises(ValueError, match="polarity must be one of"):
        compare_with_benchmark(1, 2, 1.5, polarity="up")
    with pytest.raises(ValueError, match=r"lower must not exceed upper; got 3\.0 at position 0"):
        compare_with_benchmark(3, 2, 1.5, polarity="low_is_good")
    assert compare_with_benchmark(1, 2, 0.5, polarity="RAG - Low is good") == "Worse"


def test_trend_errors():
    with pytest.raises(ValueError, match="kind must be one of"):
        trend_test([1, 2, 3], [1, 2, 3], [10, 10, 10], kind="odds")
    with pytest.raises(
        ValueError,
        match=r"counts must not exceed denominators for a proportion; got 11\.0 at position 2",
    ):
        trend_test([1, 2, 3], [1, 2, 11], [10, 10, 10], kind="proportion")


def _sii_frame(n=10):
    return pd.DataFrame(
        {
            "quantile": range(1, n + 1),
            "population": 1000.0,
            "value": np.linspace(70, 80, n),
            "se": 1.0,
        }
    )


def test_sii_errors():
    with pytest.raises(ValueError, match="between 5 and 100 distinct quantiles; found 4"):
        slope_index_of_inequality(_sii_frame(4), value="value", se="se")
    with pytest.raises(ValueError, match="repetitions must be a whole number >= 1000"):
        slope_index_of_inequality(_sii_frame(), value="value", se="se", repetitions=10)
    with pytest.raises(ValueError, match="transform=True needs value_type"):
        slope_index_of_inequality(_sii_frame(), value="value", se="se", transform=True)
    with pytest.raises(ValueError, match="value_type must be"):
        slope_index_of_inequality(_sii_frame(), value="value", se="se", value_type=3)
    with pytest.raises(ValueError, match="needs either an se column or both"):
        slope_index_of_inequality(_sii_frame(), value="value", lower_cl="value")
    with pytest.raises(
        ValueError, match=r"must be > 0 for a rate \(its log is needed\); got 0\.0 at position 0"
    ):
        slope_index_of_inequality(
            _sii_frame().assign(value=np.r_[0.0, np.ones(9)]),
            value="value",
            se="se",
            value_type="rate",
        )
