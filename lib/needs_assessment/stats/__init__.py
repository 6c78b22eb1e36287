"""Indicator statistics computed the way OHID Fingertips / the PHE Public Health Technical
Guidance computes them (crude rates, proportions, DSRs, ISRs, funnel plots, SII/RII,
benchmark comparisons), plus trend and two-group tests.

Where DHSC's ``PHStatsMethods`` (the Python port of the Fingertips methods) is correct and
usable it is called; elsewhere the published formula is implemented here. Each module's
docstring records that decision and the reference tables it was checked against.
"""

from .benchmark import compare_with_benchmark
from .comparisons import compare_two_proportions, compare_two_rates
from .funnels import funnel_limits, funnel_significance
from .inequality import slope_index_of_inequality
from .intervals import byars_ci, exact_poisson_ci, poisson_ci, wilson_ci
from .proportions import proportion
from .rates import crude_rate, pooled_rate
from .standardisation import dsr, esp2013, israte, isratio, pooled_dsr
from .trends import trend_test
from .verification import agrees_with_published, assert_agrees_with_published

__all__ = [
    "agrees_with_published",
    "assert_agrees_with_published",
    "byars_ci",
    "compare_two_proportions",
    "compare_two_rates",
    "compare_with_benchmark",
    "crude_rate",
    "dsr",
    "esp2013",
    "exact_poisson_ci",
    "funnel_limits",
    "funnel_significance",
    "isratio",
    "israte",
    "poisson_ci",
    "pooled_dsr",
    "pooled_rate",
    "proportion",
    "slope_index_of_inequality",
    "trend_test",
    "wilson_ci",
]
