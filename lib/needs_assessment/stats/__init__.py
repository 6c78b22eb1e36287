"""Indicator statistics computed the way OHID Fingertips / the PHE Public Health Technical
Guidance computes them (crude rates, proportions, DSRs, ISRs, funnel plots, SII/RII,
benchmark comparisons), plus trend and two-group tests, and funnel limits adjusted for
over-dispersion when many areas are compared (Spiegelhalter 2005).

Where DHSC's ``PHStatsMethods`` (the Python port of the Fingertips methods) is correct and
usable it is called; elsewhere the published formula is implemented here. Each module's
docstring records that decision and the reference tables it was checked against.
"""

from .benchmark import compare_with_benchmark
from .comparisons import compare_two_proportions, compare_two_rates
from .funnels import (
    OverdispersedFunnel,
    between_unit_variance,
    dispersion_ratio,
    funnel_limits,
    funnel_significance,
    funnel_z_scores,
    overdispersed_limits,
    overdispersion_test,
)
from .inequality import slope_index_of_inequality
from .intervals import byars_ci, exact_poisson_ci, poisson_ci, wilson_ci
from .proportions import proportion
from .rates import crude_rate, pooled_rate
from .standardisation import dsr, esp2013, israte, isratio, pooled_dsr
from .trends import trend_test
from .verification import agrees_with_published, assert_agrees_with_published

__all__ = [
    "OverdispersedFunnel",
    "agrees_with_published",
    "assert_agrees_with_published",
    "between_unit_variance",
    "byars_ci",
    "compare_two_proportions",
    "compare_two_rates",
    "compare_with_benchmark",
    "crude_rate",
    "dispersion_ratio",
    "dsr",
    "esp2013",
    "exact_poisson_ci",
    "funnel_limits",
    "funnel_significance",
    "funnel_z_scores",
    "israte",
    "isratio",
    "overdispersed_limits",
    "overdispersion_test",
    "poisson_ci",
    "pooled_dsr",
    "pooled_rate",
    "proportion",
    "slope_index_of_inequality",
    "trend_test",
    "wilson_ci",
]
