"""Loaders of record-level extracts, one row per episode or person: treatment episodes
(NDTMS-like), prison releases and the linkable lists used for capture-recapture."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from ..schemas import (
    linkable_list_schema,
    prison_releases_schema,
    treatment_episodes_schema,
)
from ._core import (
    _F,
    _SEX,
    _SMALL_AREA,
    PathLike,
    _coded,
    _standard,
)

# ============================================================================================
# treatment episodes, prison releases, linkable lists
# ============================================================================================
_CLIENT = (r"client_?id", r"pseudonym(?:ised)?_?id", r"person_id", r"nhs_pseudonym", r"client_ref", r"client")


_TREATMENT_SPECS = (
    _F("episode_id", "str", (r"episode_?id", r"episode_ref", r"episode")),
    _F("client_id", "str", _CLIENT),
    _F("referral_date", "date", (r"date_?of_?referral", r"referral_?dt", r"refdate")),
    _F("triage_date", "date", (r"date_?of_?triage", r"triage_?dt", r"triagedate", r"first_intervention_date"), nullable=True),
    _F("discharge_date", "date", (r"date_?of_?discharge", r"discharge_?dt", r"disdate", r"exit_date"), nullable=True),
    _coded("discharge_reason", "discharge_reason", (r"reason_for_discharge", r"discharge_reason_code", r"exit_reason"), nullable=True),
    _coded("substance_group", "substance_group", (r"drug_group", r"substance_category", r"primary_substance_group")),
    _coded("referral_source", "referral_source", (r"source_of_referral", r"referral_source_code", r"refsource")),
    _F("age", "int", (r"age_at_referral", r"age_at_start", r"age_years")),
    _coded("sex", "sex", _SEX),
    _coded("gender_identity_same_as_sex", "gender_identity_same_as_sex",
           (r"gender_identity", r"gender_reassignment", r"trans_status"), empty_as="not_stated"),
    _coded("ethnicity", "ethnicity", (r"ethnic_?group", r"ethnic_category", r"ethnicity_code"), empty_as="not_stated"),
    _coded("religion", "religion", (r"religion_or_belief", r"religion_code"), empty_as="not_stated"),
    _coded("sexual_orientation", "sexual_orientation", (r"sexuality",), empty_as="not_stated"),
    _coded("disability", "disability", (r"disabled", r"disability_status"), empty_as="not_stated"),
    _coded("pregnant", "pregnant", (r"pregnancy", r"pregnancy_status", r"pregnancy_and_maternity"), empty_as="not_stated"),
    _coded("marital_status", "marital_status", (r"marriage_and_civil_partnership", r"legal_partnership_status"), empty_as="not_stated"),
    _F("small_area_code", "area", _SMALL_AREA + (r"lsoa_of_residence",), nullable=True),
    _coded("housing_problem", "housing_problem", (r"housing", r"housing_situation", r"accommodation_need"), empty_as="not_stated"),
    _coded("employment_status", "employment_status", (r"employment", r"economic_status"), empty_as="not_stated"),
    _coded("injecting_status", "injecting_status", (r"injecting", r"injection_status"), empty_as="not_stated"),
    _coded("parental_status", "parental_status", (r"parental_responsibility", r"parent_status", r"children_status"), empty_as="not_stated"),
    _F("young_person", "bool", (r"yp", r"young_people", r"young_persons_service", r"yp_service")),
    _F("prison_release_date", "date", (r"date_of_release", r"release_date", r"prison_release"), nullable=True),
)


def _load_treatment_episodes(path, *, root=None, today=None):
    return _standard(path, "treatment_episodes", _TREATMENT_SPECS, treatment_episodes_schema(today),
                     root=root, today=today)


def load_treatment_episodes(path: PathLike, *, root: PathLike | None = None,
                            today: dt.date | None = None) -> pd.DataFrame:
    """Record-level treatment episodes (NDTMS-like extract), one row per episode.

    Dates may be ``YYYY-MM-DD`` (Excel date cells too) or ``DD/MM/YYYY``; coded columns
    accept codes, labels and NDTMS/Census wordings; an empty demographic cell is read as
    ``not_stated``. ``today`` (default: the real date) bounds "not in the future".
    """
    return _load_treatment_episodes(path, root=root, today=today)[0]


_PRISON_SPECS = (
    _F("client_id", "str", _CLIENT),
    _F("release_date", "date", (r"date_of_release", r"prison_release_date", r"release_dt")),
    _coded("substance_group", "substance_group", (r"drug_group", r"substance_category")),
    _F("small_area_code", "area", _SMALL_AREA, nullable=True, optional=True),
)


def _load_prison_releases(path, *, root=None, today=None):
    return _standard(path, "prison_releases", _PRISON_SPECS, prison_releases_schema(today), root=root, today=today)


def load_prison_releases(path: PathLike, *, root: PathLike | None = None,
                         today: dt.date | None = None) -> pd.DataFrame:
    """Releases from prison of people with a substance misuse treatment need."""
    return _load_prison_releases(path, root=root, today=today)[0]


_LIST_SPECS = (
    _F("client_id", "str", _CLIENT),
    _F("event_date", "date", (r"date", r"event_dt", r"contact_date", r"arrest_date", r"admission_date", r"start_date")),
    _F("age", "int", (r"age_at_event", r"age_years")),
    _coded("sex", "sex", _SEX),
    _F("small_area_code", "area", _SMALL_AREA, nullable=True, optional=True),
    _F("opiate_or_crack", "bool", (r"ocu", r"opiate_and_or_crack", r"opiate_crack", r"opiate_or_crack_use")),
    _coded("ethnicity", "ethnicity", (r"ethnic_?group", r"ethnic_category"), nullable=True, optional=True),
)


def _load_linkable_list(path, *, root=None, today=None, name=None):
    return _standard(path, f"linkable_lists.{name}" if name else "linkable_lists", _LIST_SPECS,
                     linkable_list_schema(today), root=root, today=today)


def load_linkable_list(path: PathLike, *, root: PathLike | None = None, today: dt.date | None = None,
                       name: str | None = None) -> pd.DataFrame:
    """One linkable list for capture-recapture (probation, police custody, hospital …)."""
    return _load_linkable_list(path, root=root, today=today, name=name)[0]


