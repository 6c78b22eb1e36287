"""Allowed codes for every categorical column in the data contract, with display labels.

Canonical codes are lower-case ``snake_case`` (see ``data/README.md``). Source files may use
the codes, the display labels, or common alternative wordings (NDTMS, Census 2021, NHS Data
Dictionary, ONS); :func:`normalise_code` maps any of them to the code, ignoring case, spaces
and punctuation, and raises :class:`UnknownCodeError` listing the allowed values otherwise.

>>> normalise_code("Opiate & crack", "substance_group")
'opiate_and_crack'
>>> normalise_code("F", "sex")
'female'
>>> age_band_for(37)
'35-39'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import cache

import numpy as np
import pandas as pd

__all__ = [
    "AGE_BANDS",
    "CODES",
    "CRIME_TYPES",
    "FIELDS",
    "OPENING_DAYS",
    "UnknownCodeError",
    "age_band_for",
    "allowed",
    "label",
    "labels",
    "normalise_age_band",
    "normalise_code",
    "normalise_key",
    "normalise_series",
    "parse_bool",
]


class UnknownCodeError(ValueError):
    """A value is not one of the allowed codes (or labels) of a field."""

    def __init__(self, value: object, field: str):
        self.value = value
        self.field = field
        super().__init__(
            f"unknown {field} code {value!r} (expected one of: {expected_text(field)})"
        )


# --------------------------------------------------------------------------------------------
# Code lists: field -> {code: (display label, *aliases)}
# --------------------------------------------------------------------------------------------
_NOT_STATED = (
    "Not stated",
    "not known",
    "unknown",
    "not recorded",
    "missing",
    "prefer not to say",
    "declined to answer",
    "client declined to answer",
    "not answered",
    "refused",
    "not disclosed",
)

_YES = ("Yes", "y", "true", "t", "1")
_NO = ("No", "n", "false", "f", "0")

_RAW: dict[str, dict[str, tuple[str, ...]]] = {
    "substance_group": {
        "opiate_and_crack": (
            "Opiate and crack",
            "opiate & crack",
            "opiates and crack",
            "opiate and crack cocaine",
            "opiate and crack users",
        ),
        "opiate_only": (
            "Opiate only",
            "opiate",
            "opiates",
            "opiates only",
            "opiate (not crack)",
            "opiate not crack",
        ),
        "crack_only": ("Crack only", "crack", "crack cocaine only", "crack (not opiate)"),
        "non_opiate_only": ("Non-opiate only", "non-opiate", "non-opiates", "non-opiates only"),
        "non_opiate_and_alcohol": (
            "Non-opiate and alcohol",
            "non-opiates and alcohol",
            "non-opiate & alcohol",
        ),
        "alcohol_only": ("Alcohol only", "alcohol"),
    },
    "discharge_reason": {
        "completed_drug_free": (
            "Treatment completed – drug free",
            "completed drug free",
            "treatment completed drug free",
        ),
        "completed_alcohol_free": (
            "Treatment completed – alcohol free",
            "completed alcohol free",
            "treatment completed alcohol free",
        ),
        "completed_occasional_user": (
            "Treatment completed – occasional user (not opiates or crack)",
            "completed occasional user",
            "treatment completed occasional user",
            "treatment completed occasional user not opiates or crack",
        ),
        "transferred_not_in_custody": (
            "Transferred – not in custody",
            "transferred not in custody",
            "transferred community",
        ),
        "transferred_in_custody": ("Transferred – in custody", "transferred in custody"),
        "dropped_out": (
            "Dropped out",
            "incomplete – dropped out",
            "client dropped out",
            "dropped out left",
        ),
        "declined": (
            "Declined",
            "treatment declined",
            "treatment declined by client",
            "incomplete – treatment declined by client",
            "client declined",
        ),
        "withdrawn_by_provider": (
            "Withdrawn by provider",
            "treatment withdrawn by provider",
            "incomplete – treatment withdrawn by provider",
        ),
        "prison": ("Prison", "incomplete – prison", "imprisoned", "custody"),
        "died": ("Died", "incomplete – died", "death", "deceased"),
        "moved_away": ("Moved away", "moved out of area", "relocated"),
        "other": ("Other", "incomplete – other", "other reason"),
    },
    "referral_source": {
        "self": ("Self-referral", "self", "self referred", "self-referred", "self referral"),
        "gp": ("GP", "general practitioner", "gp practice", "primary care"),
        "hospital": ("Hospital", "hospital ward", "secondary care"),
        "a_and_e": ("A&E", "a and e", "accident and emergency", "emergency department", "ed"),
        "probation": ("Probation", "probation service", "national probation service", "crc"),
        "prison": ("Prison", "prison release", "custody release"),
        "police_custody_liaison_diversion": (
            "Police custody / liaison and diversion",
            "police custody",
            "liaison and diversion",
            "police",
            "arrest referral",
            "custody suite",
            "police custody liaison diversion",
        ),
        "social_care": (
            "Social care",
            "social services",
            "children and family services",
            "adult social care",
            "childrens social care",
        ),
        "education": ("Education", "school", "college", "education service"),
        "other": ("Other", "other referral source"),
    },
    "sex": {
        "male": ("Male", "m", "1", "man", "men", "males"),
        "female": ("Female", "f", "2", "woman", "women", "females"),
        "not_stated": (*_NOT_STATED, "9", "0", "x", "u", "indeterminate", "not specified"),
    },
    # Population and counts: persons where no split by sex is published.
    "population_sex": {
        "male": ("Male", "m", "1", "males", "men"),
        "female": ("Female", "f", "2", "females", "women"),
        "persons": ("Persons", "p", "all", "all persons", "people", "total", "all people", "3"),
    },
    "gender_identity_same_as_sex": {
        "yes": (*_YES, "same as sex registered at birth", "gender identity the same as sex registered at birth"),
        "no": (*_NO, "different from sex registered at birth", "gender identity different from sex registered at birth"),
        "not_stated": _NOT_STATED,
    },
    "ethnicity": {
        "asian": (
            "Asian, Asian British or Asian Welsh",
            "asian or asian british",
            "asian / asian british",
            "asian british",
            "indian",
            "pakistani",
            "bangladeshi",
            "chinese",
            "other asian",
            "any other asian background",
            "asian indian",
            "asian pakistani",
            "asian bangladeshi",
            "asian chinese",
            "h",
            "j",
            "k",
            "l",
            "r",
        ),
        "black": (
            "Black, Black British, Black Welsh, Caribbean or African",
            "black or black british",
            "black / african / caribbean / black british",
            "black african caribbean or black british",
            "black british",
            "african",
            "caribbean",
            "other black",
            "black african",
            "black caribbean",
            "any other black background",
            "m",
            "n",
            "p",
        ),
        "mixed": (
            "Mixed or Multiple ethnic groups",
            "mixed",
            "mixed / multiple ethnic groups",
            "mixed or multiple",
            "white and black caribbean",
            "white and black african",
            "white and asian",
            "other mixed",
            "other mixed or multiple ethnic groups",
            "any other mixed background",
            "d",
            "e",
            "f",
            "g",
        ),
        "white": (
            "White",
            "white british",
            "white: english, welsh, scottish, northern irish or british",
            "english, welsh, scottish, northern irish or british",
            "white irish",
            "irish",
            "gypsy or irish traveller",
            "roma",
            "other white",
            "any other white background",
            "a",
            "b",
            "c",
        ),
        "other": (
            "Other ethnic group",
            "other",
            "arab",
            "any other ethnic group",
            "other ethnic groups",
            "s",
        ),
        "not_stated": (*_NOT_STATED, "z", "99"),
    },
    "religion": {
        "no_religion": ("No religion", "none", "no religion or belief", "no religious belief"),
        "christian": ("Christian", "christianity"),
        "buddhist": ("Buddhist", "buddhism"),
        "hindu": ("Hindu", "hinduism"),
        "jewish": ("Jewish", "judaism"),
        "muslim": ("Muslim", "islam"),
        "sikh": ("Sikh", "sikhism"),
        "other": ("Other religion", "other", "any other religion"),
        "not_stated": _NOT_STATED,
    },
    "sexual_orientation": {
        "heterosexual": ("Straight or heterosexual", "heterosexual", "straight", "heterosexual or straight"),
        "gay_or_lesbian": ("Gay or lesbian", "gay", "lesbian", "gay / lesbian", "homosexual"),
        "bisexual": ("Bisexual", "bi"),
        "other": ("All other sexual orientations", "other", "other sexual orientation"),
        "not_stated": (*_NOT_STATED, "person asked and does not know or is not sure"),
    },
    "disability": {
        "yes": (*_YES, "Disabled", "disabled under the equality act"),
        "no": (*_NO, "Not disabled", "not disabled under the equality act", "no disability"),
        "not_stated": _NOT_STATED,
    },
    "pregnant": {
        "yes": (*_YES, "Pregnant"),
        "no": (*_NO, "Not pregnant"),
        "not_applicable": ("Not applicable", "n/a", "na"),
        "not_stated": _NOT_STATED,
    },
    "marital_status": {
        "never_married": (
            "Never married and never registered a civil partnership",
            "never married",
            "single",
            "single never married",
        ),
        "married_or_civil_partnership": (
            "Married or in a registered civil partnership",
            "married",
            "civil partnership",
            "married or civil partnership",
            "in a civil partnership",
        ),
        "separated": (
            "Separated, but still legally married or in a civil partnership",
            "separated",
        ),
        "divorced_or_dissolved": (
            "Divorced or civil partnership dissolved",
            "divorced",
            "dissolved",
            "divorced or dissolved",
        ),
        "widowed": (
            "Widowed or surviving civil partnership partner",
            "widowed",
            "widow",
            "widower",
        ),
        "not_stated": _NOT_STATED,
    },
    "housing_problem": {
        "no_problem": ("No housing problem", "no problem", "none", "no"),
        "housing_problem": ("Housing problem", "yes", "problem"),
        "urgent_housing_problem": (
            "Urgent housing problem",
            "urgent",
            "no fixed abode",
            "nfa",
        ),
        "not_stated": _NOT_STATED,
    },
    "employment_status": {
        "employed": (
            "In employment",
            "employed",
            "regular employment",
            "paid employment",
            "in paid employment",
            "self employed",
        ),
        "unemployed": ("Unemployed", "unemployed and seeking work", "unemployed seeking work"),
        "economically_inactive": ("Economically inactive", "inactive", "homemaker", "carer"),
        "long_term_sick_or_disabled": (
            "Long-term sick or disabled",
            "long term sick",
            "long-term sick",
            "sick or disabled",
        ),
        "student": ("Student", "in education", "pupil", "in education or training"),
        "retired": ("Retired", "retired from paid work"),
        "not_stated": _NOT_STATED,
    },
    "injecting_status": {
        "never": ("Never injected", "never"),
        "previously": ("Previously injected", "previously", "past", "ever injected"),
        "currently": ("Currently injecting", "currently", "current", "currently injects"),
        "not_stated": _NOT_STATED,
    },
    "parental_status": {
        "living_with_children": (
            "Living with children",
            "lives with children",
            "living with own children",
            "parent living with children",
        ),
        "children_not_living_with": (
            "Has children not living with them",
            "children not living with client",
            "parent not living with children",
        ),
        "no_children": ("No children", "not a parent", "none"),
        "not_stated": _NOT_STATED,
    },
    "yes_no_not_stated": {
        "yes": _YES,
        "no": _NO,
        "not_stated": _NOT_STATED,
    },
    "cause": {
        "drug_misuse": ("Deaths from drug misuse", "drug misuse"),
        "drug_poisoning": ("Deaths related to drug poisoning", "drug poisoning"),
        "alcohol_specific": ("Alcohol-specific deaths", "alcohol specific", "alcohol-specific"),
    },
    "condition": {
        "drug_poisoning": (
            "Admissions for drug poisoning",
            "drug poisoning",
            "poisoning by drug misuse",
        ),
        "drug_mental_behavioural": (
            "Admissions for drug-related mental and behavioural disorders",
            "drug related mental and behavioural disorders",
            "drug-related mental and behavioural disorders",
            "mental and behavioural disorders due to drug misuse",
            "drug mental and behavioural",
        ),
        "alcohol_specific": (
            "Alcohol-specific admissions",
            "alcohol specific",
            "alcohol-specific conditions",
        ),
    },
    "service_type": {
        "adult": ("Adult", "adults", "adult service", "18+"),
        "young_people": (
            "Young people",
            "yp",
            "young persons",
            "children and young people",
            "under 18",
            "under 18s",
        ),
        "both": ("Both", "all ages", "adult and young people", "adults and young people"),
    },
}

#: police.uk crime categories (current list, plus two used before May 2013).
CRIME_TYPES: tuple[str, ...] = (
    "Anti-social behaviour",
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other crime",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
    "Violent crime",
    "Public disorder and weapons",
)

#: Days used in ``services.opening_days``.
OPENING_DAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY_ALIASES = {
    "Mon": ("monday", "mo"),
    "Tue": ("tuesday", "tues", "tu"),
    "Wed": ("wednesday", "we"),
    "Thu": ("thursday", "thur", "thurs", "th"),
    "Fri": ("friday", "fr"),
    "Sat": ("saturday", "sa"),
    "Sun": ("sunday", "su"),
}

#: 2013 European Standard Population five-year bands.
AGE_BANDS: tuple[str, ...] = tuple(f"{lo}-{lo + 4}" for lo in range(0, 90, 5)) + ("90+",)

_RAW["crime_type"] = {label_: (label_,) for label_ in CRIME_TYPES}
_RAW["crime_type"]["Anti-social behaviour"] += ("asb", "antisocial behaviour")
_RAW["crime_type"]["Violence and sexual offences"] += ("violence and sexual offenses",)
_RAW["opening_day"] = {day: (day, *aliases) for day, aliases in _DAY_ALIASES.items()}
_RAW["age_band"] = {band: (band,) for band in AGE_BANDS}

#: Field names accepted by :func:`normalise_code`.
FIELDS: tuple[str, ...] = tuple(_RAW)

#: field -> allowed codes, in display order.
CODES: dict[str, tuple[str, ...]] = {field: tuple(values) for field, values in _RAW.items()}


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------
_NON_ALNUM = re.compile(r"[^a-z0-9+]+")


def normalise_key(value: object) -> str:
    """Case-, space- and punctuation-insensitive key: ``'Opiate & Crack'`` -> ``'opiateandcrack'``."""
    text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode()
    text = text.lower().replace("&", " and ")
    return _NON_ALNUM.sub("", text)


@cache
def _lookup(field: str) -> dict[str, str]:
    if field not in _RAW:
        raise KeyError(f"unknown field {field!r}; known fields: {', '.join(FIELDS)}")
    table: dict[str, str] = {}
    # Codes and labels first, so an alias can never shadow another code's own name.
    for code, (display, *_aliases) in _RAW[field].items():
        table[normalise_key(code)] = code
        table.setdefault(normalise_key(display), code)
    for code, (_display, *aliases) in _RAW[field].items():
        for alias in aliases:
            table.setdefault(normalise_key(alias), code)
    return table


def allowed(field: str) -> tuple[str, ...]:
    """The allowed codes of ``field``."""
    _lookup(field)
    return CODES[field]


def labels(field: str) -> dict[str, str]:
    """``{code: display label}`` for ``field``."""
    _lookup(field)
    return {code: values[0] for code, values in _RAW[field].items()}


def label(code: str, field: str) -> str:
    """Display label of one code, e.g. ``label('opiate_and_crack', 'substance_group')``."""
    try:
        return labels(field)[code]
    except KeyError:
        raise UnknownCodeError(code, field) from None


def expected_text(field: str, limit: int = 20) -> str:
    codes = CODES.get(field, ())
    shown = ", ".join(codes[:limit])
    if len(codes) > limit:
        shown += f", … ({len(codes)} codes)"
    return shown


_AGE_BAND_RE = re.compile(
    r"^\D*?(\d{1,3})\s*(?:-|–|to|_)\s*(\d{1,3})\D*$|^\D*?(\d{1,3})\s*(?:\+|plus|and over|or over|and above|years and over)\D*$",
    re.IGNORECASE,
)


def normalise_age_band(value: object) -> str:
    """Map ``'0 to 4'``, ``'00-04'``, ``'Aged 85 to 89'``, ``'90 and over'`` … to an ESP band."""
    text = str(value).strip()
    if text in AGE_BANDS:
        return text
    match = _AGE_BAND_RE.match(text)
    if match:
        lo, hi, open_lo = match.groups()
        if open_lo is not None:
            if int(open_lo) == 90:
                return "90+"
        else:
            band = f"{int(lo)}-{int(hi)}"
            if band in AGE_BANDS:
                return band
    raise UnknownCodeError(value, "age_band")


def normalise_code(value: object, field: str) -> str:
    """Return the canonical code for ``value`` (a code, label or known alias) of ``field``.

    Raises :class:`UnknownCodeError` (a ``ValueError``) naming the allowed codes otherwise.
    """
    if field == "age_band":
        return normalise_age_band(value)
    table = _lookup(field)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        raise UnknownCodeError(value, field)
    code = table.get(normalise_key(value))
    if code is None:
        raise UnknownCodeError(value, field)
    return code


def normalise_series(values: pd.Series, field: str) -> tuple[pd.Series, pd.Series]:
    """Vectorised :func:`normalise_code`: ``(codes, unknown)``.

    ``codes`` holds the canonical code (missing where the value was empty or unknown);
    ``unknown`` is True where a non-empty value matched nothing. Work is done once per
    distinct value, so millions of rows cost little.
    """
    text = values.astype("str")
    empty = text.isna() | (text.str.strip() == "")
    uniques = pd.unique(text[~empty])
    mapping: dict[str, object] = {}
    for raw in uniques:
        try:
            mapping[raw] = normalise_code(raw, field)
        except UnknownCodeError:
            mapping[raw] = None
    codes = text.map(mapping).astype("str")
    codes[empty] = pd.NA
    unknown = codes.isna() & ~empty
    return codes, unknown


_TRUE = {normalise_key(v) for v in (*_YES, "yes", "true")}
_FALSE = {normalise_key(v) for v in (*_NO, "no", "false")}


def parse_bool(value: object) -> bool:
    """``yes/no``, ``y/n``, ``true/false``, ``1/0`` (any case) -> bool; else ValueError."""
    key = normalise_key(value)
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError(f"not a yes/no value: {value!r} (expected yes/no, true/false, y/n or 1/0)")


def age_band_for(age):
    """ESP 2013 band of an age in whole years: 0-4 … 85-89, 90+.

    Works on a scalar (returns a str, or None for a missing age) or on an array/Series
    (returns an object array / Series of bands, missing where the age is missing).
    Negative ages raise ``ValueError``.
    """
    if np.isscalar(age) or age is None or age is pd.NA:
        if age is None or age is pd.NA or (isinstance(age, float) and np.isnan(age)):
            return None
        age_int = int(age)
        if age_int < 0:
            raise ValueError(f"age {age!r} is negative")
        return AGE_BANDS[min(age_int // 5, len(AGE_BANDS) - 1)]
    series = age if isinstance(age, pd.Series) else pd.Series(age)
    numbers = pd.to_numeric(series, errors="coerce").astype("Float64")
    if (numbers < 0).any():
        raise ValueError("ages must not be negative")
    idx = (numbers // 5).clip(upper=len(AGE_BANDS) - 1)
    bands = np.array(AGE_BANDS, dtype=object)
    out = np.full(len(series), None, dtype=object)
    ok = idx.notna().to_numpy()
    out[ok] = bands[idx[ok].astype(int).to_numpy()]
    result = pd.Series(out, index=series.index, dtype="str")
    return result if isinstance(age, pd.Series) else result.to_numpy(dtype=object)


def describe_codes(fields: Iterable[str] | None = None) -> Mapping[str, dict[str, str]]:
    """``{field: {code: label}}`` for documentation and data dictionaries."""
    return {field: labels(field) for field in (fields or FIELDS)}
