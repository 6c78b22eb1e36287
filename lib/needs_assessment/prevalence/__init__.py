"""Prevalence estimation: capture–recapture, synthetic estimation and unmet need.

* :func:`capture_histories`, :func:`mse_estimate`, :func:`fit_mse_model`,
  :func:`check_extended_mle`, :func:`profile_likelihood_interval` — multiple-systems
  estimation (Poisson log-linear capture–recapture) of opiate and/or crack cocaine users
  from linked lists, with the sparse-data checks of Chan, Silverman & Vincent (2021) and the
  model-selection bootstrap of Silverman, Chan & Vincent (2024);
* :func:`criterion_weights`, :func:`model_averaged_estimate`, :func:`model_sensitivity` —
  model uncertainty (Burnham & Anderson 2002): every :class:`MSEResult` also carries the
  model-averaged estimate with its bootstrap interval and a flag when well-supported
  models disagree;
* :func:`stratified_mse` — the same by stratum (age band, sex, district);
* :func:`national_prevalence_rates`, :func:`synthetic_prevalence` — national age/sex rates
  (sourced in ``resources/prevalence_rates.md``) applied to a local population;
* :func:`unmet_need` — proportion of the estimated population not in treatment.
"""

from .capture_recapture import (
    MLECheck,
    MSEError,
    MSEEstimate,
    MSEModelFit,
    MSEResult,
    capture_histories,
    check_extended_mle,
    criterion_weights,
    fit_mse_model,
    model_averaged_estimate,
    model_sensitivity,
    mse_estimate,
    profile_likelihood_interval,
)
from .stratified import StratifiedMSEResult, stratified_mse
from .synthetic import national_prevalence_rates, parse_age_band, synthetic_prevalence
from .unmet_need import unmet_need

__all__ = [
    "MLECheck",
    "MSEError",
    "MSEEstimate",
    "MSEModelFit",
    "MSEResult",
    "StratifiedMSEResult",
    "capture_histories",
    "check_extended_mle",
    "criterion_weights",
    "fit_mse_model",
    "model_averaged_estimate",
    "model_sensitivity",
    "mse_estimate",
    "national_prevalence_rates",
    "parse_age_band",
    "profile_likelihood_interval",
    "stratified_mse",
    "synthetic_prevalence",
    "unmet_need",
]
