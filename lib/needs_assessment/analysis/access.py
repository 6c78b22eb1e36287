"""Access to services: routes into treatment, waiting times, continuity of care after
prison, distance to the nearest treatment site, and early drop-out.

Definitions (NDTMS practice where one exists; OHID, "Adult substance misuse treatment
statistics" user guide and the NDTMS "Continuity of care" indicator):

* **new presentations** are adults' episodes whose triage (first intervention) falls in
  the assessment period (:func:`needs_assessment.analysis.common.new_presentations`);
* **referral routes** group NDTMS referral sources: criminal justice (probation, prison,
  police custody / liaison and diversion), health (GP, hospital, A&E), self-referral and
  other (social care, education, other);
* **waiting time** is the number of days from referral to triage; the national
  expectation is that people start treatment within **3 weeks (21 days)**, so the
  indicator is the share waiting more than 21 days;
* **continuity of care** is the share of prison releases (of adults with a substance
  misuse treatment need) after which the same person (``client_id``) had a community
  treatment triage on the day of release or in the 21 days after it (day 0 to day 21
  inclusive); a triage before the release does not count;
* **travel distance** is the straight-line ("as the crow flies") distance in km from a
  point inside each small area to the nearest adult treatment site, in British National
  Grid metres (EPSG:27700). It is a proxy for travel time: it ignores roads, public
  transport and the river or motorway in between;
* **early drop-out** is a new presentation discharged with reason ``dropped_out`` within
  12 weeks (84 days) of triage; the wider *unplanned early exit* also counts ``declined``
  and ``withdrawn_by_provider``. Episodes triaged less than 84 days before the end of the
  extract are left out (their 12 weeks are not complete).

Every function is a pure function of validated frames and returns a tidy table; the
notebook protects tables with :mod:`needs_assessment.sdc` before anything is shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from needs_assessment.analysis.common import (
    BROAD_SUBSTANCE,
    SUBSTANCE_LABELS,
    age_group,
    attach_area,
    in_treatment,
    population_in_ages,
)
from needs_assessment.analysis.comparators import latest_period, whole_population
from needs_assessment.stats import compare_two_proportions, compare_with_benchmark, proportion

__all__ = [
    "CJ_SOURCES",
    "HEALTH_SOURCES",
    "ROUTES",
    "ROUTE_LABELS",
    "SOURCE_LABELS",
    "UNPLANNED_EXITS",
    "NOT_KNOWN_AREA",
    "Breakdown",
    "add_breakdowns",
    "choose_distance_edges",
    "compare_with_area",
    "continuity_of_care",
    "difference_tests",
    "distance_band",
    "distance_rate_ratio",
    "early_dropout",
    "extract_end",
    "find_comparator",
    "interval_text",
    "median_ci",
    "nearest_site",
    "opening_summary",
    "prison_referral_engagement",
    "proportions_by",
    "rate_by_distance_band",
    "referral_routes_by",
    "referral_sources",
    "site_points",
    "small_area_points",
    "small_area_treatment",
    "dropout_model",
    "waiting_times",
    "wait_summary",
]

CJ_SOURCES = ("probation", "prison", "police_custody_liaison_diversion")
HEALTH_SOURCES = ("gp", "hospital", "a_and_e")
ROUTES: dict[str, tuple[str, ...]] = {
    "criminal_justice": CJ_SOURCES,
    "health": HEALTH_SOURCES,
    "self": ("self",),
    "other": ("social_care", "education", "other"),
}
ROUTE_LABELS = {
    "criminal_justice": "Criminal justice",
    "health": "Health",
    "self": "Self-referral",
    "other": "Other (social care, education, other)",
}
SOURCE_LABELS = {
    "self": "Self-referral",
    "gp": "GP",
    "hospital": "Hospital",
    "a_and_e": "A&E",
    "probation": "Probation",
    "prison": "Prison",
    "police_custody_liaison_diversion": "Police custody / liaison and diversion",
    "social_care": "Social care",
    "education": "Education",
    "other": "Other",
}
SEX_LABELS = {"male": "Male", "female": "Female", "not_stated": "Not stated"}
BROAD_LABELS = {"opiate": "Opiate", "non_opiate": "Non-opiate", "alcohol": "Alcohol only"}
UNPLANNED_EXITS = ("dropped_out", "declined", "withdrawn_by_provider")
#: Label for records without a small area of residence.
NOT_KNOWN_AREA = "Not known (no fixed abode or outside the area)"
#: Labels that are not a group to compare (unknown residence, sex not stated).
UNKNOWN_GROUPS = ("Not known", "Not stated", NOT_KNOWN_AREA)

ENGLAND_CODE = "E92000001"


def _route_of(source: pd.Series) -> pd.Series:
    lookup = {s: route for route, sources in ROUTES.items() for s in sources}
    return source.map(lookup).fillna("other")


def extract_end(episodes: pd.DataFrame) -> pd.Timestamp:
    """The last date seen in the treatment extract (referral, triage or discharge): the end
    of follow-up for measures that need time to happen (12-week drop-out, 21-day
    continuity)."""
    dates = [episodes[c].max() for c in ("referral_date", "triage_date", "discharge_date")
             if c in episodes.columns]
    dates = [d for d in dates if pd.notna(d)]
    if not dates:
        raise ValueError("treatment extract has no dates")
    return pd.Timestamp(max(dates))


# ------------------------------------------------------------------------------ breakdowns
@dataclass(frozen=True)
class Breakdown:
    """One way of splitting records: ``label`` (e.g. "Sex") and the column holding the
    group labels; ``code_column`` (optional) holds a stable code for each group."""

    label: str
    column: str
    code_column: str | None = None


def add_breakdowns(
    records: pd.DataFrame, geography: pd.DataFrame, *, level: str
) -> pd.DataFrame:
    """Add ``age_group`` (18-24 ... 65+), ``sex_label``, ``substance_label``,
    ``broad_substance`` and ``area_code``/``area_name`` (district or ward of residence;
    "Not known" without a small area) to episode-level records."""
    out = attach_area(records, geography, level=level, unknown_label=NOT_KNOWN_AREA)
    if "age" in out.columns:
        out["age_group"] = age_group(out["age"]).fillna("Under 18")
    if "sex" in out.columns:
        out["sex_label"] = out["sex"].map(SEX_LABELS).fillna("Not stated")
    if "substance_group" in out.columns:
        out["substance_label"] = out["substance_group"].map(SUBSTANCE_LABELS)
        out["broad_substance"] = out["substance_group"].map(BROAD_SUBSTANCE).map(BROAD_LABELS)
    return out


def standard_breakdowns(level: str, *, age: bool = True, sex: bool = True) -> list[Breakdown]:
    out = []
    if age:
        out.append(Breakdown("Age group", "age_group"))
    if sex:
        out.append(Breakdown("Sex", "sex_label"))
    out.append(Breakdown("Substance group", "substance_label"))
    out.append(Breakdown(level.title(), "area_name", "area_code"))
    return out


def _order(labels: Iterable[str], column: str) -> list[str]:
    labels = list(dict.fromkeys(labels))
    fixed = {
        "age_group": ["Under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"],
        "sex_label": ["Male", "Female", "Not stated"],
        "substance_label": list(SUBSTANCE_LABELS.values()),
        "broad_substance": list(BROAD_LABELS.values()),
    }.get(column)
    if fixed:
        return [x for x in fixed if x in labels] + sorted(x for x in labels if x not in fixed)
    known = sorted(x for x in labels if x not in UNKNOWN_GROUPS)
    return known + [x for x in labels if x in UNKNOWN_GROUPS]


def proportions_by(
    records: pd.DataFrame,
    flag: str,
    breakdowns: Sequence[Breakdown],
    *,
    confidence: float = 0.95,
    total_label: str = "All",
) -> pd.DataFrame:
    """Share of records with ``flag`` true, overall and by each breakdown, with Wilson limits.

    Returns a long table: ``breakdown, group, group_code, denominator, numerator, percent,
    lower, upper`` (percentages 0-100); the first row (breakdown "All") is the whole area.
    """
    flags = records[flag].astype(bool)
    rows = [{"breakdown": "All", "group": total_label, "group_code": "all",
             "denominator": int(len(records)), "numerator": int(flags.sum())}]
    for bd in breakdowns:
        codes = records[bd.code_column] if bd.code_column else records[bd.column]
        grouped = pd.DataFrame({"group": records[bd.column].astype("string"),
                                "code": codes.astype("string"), "flag": flags})
        summary = grouped.groupby(["group", "code"], dropna=False, observed=True)["flag"].agg(
            ["size", "sum"]).reset_index()
        order = _order(summary["group"].dropna(), bd.column)
        summary["group"] = pd.Categorical(summary["group"], categories=order, ordered=True)
        for row in summary.sort_values("group").itertuples(index=False):
            rows.append({"breakdown": bd.label, "group": str(row.group),
                         "group_code": str(row.code), "denominator": int(row.size),
                         "numerator": int(row.sum)})
    out = pd.DataFrame(rows)
    ci = proportion(out["numerator"], out["denominator"], confidence=confidence)
    out["percent"], out["lower"], out["upper"] = ci["value"], ci["lower"], ci["upper"]
    return out


def compare_with_area(
    table: pd.DataFrame, *, area_value: float, polarity: str,
    lower: str = "lower", upper: str = "upper",
) -> pd.Series:
    """Each row's interval against the whole-area value (Fingertips "compared with
    benchmark" rule): Better/Similar/Worse, or Higher/Similar/Lower for no_judgement."""
    return compare_with_benchmark(table[lower].astype(float), table[upper].astype(float),
                                  float(area_value), polarity=polarity)


def difference_tests(
    records: pd.DataFrame,
    flag: str,
    breakdowns: Sequence[Breakdown],
    *,
    confidence: float = 0.95,
    exclude: Sequence[str] = UNKNOWN_GROUPS,
) -> pd.DataFrame:
    """Does the share with ``flag`` differ between the groups of each breakdown?

    Two groups: Pearson chi-square (pooled z) test via
    :func:`~needs_assessment.stats.compare_two_proportions`; more groups: Pearson
    chi-square test of independence (no continuity correction). Unknown groups (not
    stated, no known residence) are left out. Because one test is run per breakdown,
    p-values are also Holm-adjusted across the breakdowns (Holm S, *Scand J Stat*
    1979;6:65-70) and ``significant`` uses the adjusted value at ``1 - confidence``.

    Returns ``breakdown, groups, test, statistic, df, p_value, p_adjusted, significant``.
    """
    rows = []
    for bd in breakdowns:
        keep = ~records[bd.column].isin(list(exclude)) & records[bd.column].notna()
        sub = records.loc[keep, [flag, bd.column]]
        g = sub[flag].astype(bool).groupby(sub[bd.column].astype(str), observed=True)
        table = pd.DataFrame({"events": g.sum(), "n": g.size()})
        table = table.loc[table["n"] > 0]
        k = len(table)
        if k < 2:
            rows.append({"breakdown": bd.label, "groups": k, "test": "not tested (one group)",
                         "statistic": np.nan, "df": np.nan, "p_value": np.nan})
            continue
        if k == 2:
            (g1, g2) = table.index
            res = compare_two_proportions(
                table.loc[g1, "events"], table.loc[g1, "n"], table.loc[g2, "events"],
                table.loc[g2, "n"], confidence=confidence)
            p = float(res["p_value"].iloc[0])
            stat = float(sps.chi2.isf(p, 1)) if 0 < p < 1 else np.nan
            rows.append({"breakdown": bd.label, "groups": 2,
                         "test": f"Chi-square test, {g1} vs {g2}", "statistic": stat,
                         "df": 1, "p_value": p})
            continue
        events = table["events"].to_numpy(dtype=float)
        nonevents = (table["n"] - table["events"]).to_numpy(dtype=float)
        if events.sum() == 0 or nonevents.sum() == 0:
            rows.append({"breakdown": bd.label, "groups": k, "test": "Chi-square test",
                         "statistic": 0.0, "df": k - 1, "p_value": 1.0})
            continue
        stat, p, dof, _ = sps.chi2_contingency(np.c_[events, nonevents], correction=False)
        rows.append({"breakdown": bd.label, "groups": k,
                     "test": f"Chi-square test across {k} groups", "statistic": float(stat),
                     "df": int(dof), "p_value": float(p)})
    out = pd.DataFrame(rows)
    out["p_adjusted"] = _holm(out["p_value"].to_numpy(dtype=float))
    out["significant"] = out["p_adjusted"] < (1 - confidence)
    return out


def _holm(p: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(p)
    out = np.full(p.shape, np.nan)
    if ok.any():
        vals = p[ok]
        order = np.argsort(vals)
        m = len(vals)
        adjusted = np.maximum.accumulate((m - np.arange(m)) * vals[order])
        res = np.empty(m)
        res[order] = np.minimum(adjusted, 1.0)
        out[ok] = res
    return out


# ------------------------------------------------------------------------------ referral
def referral_sources(records: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Referral sources of new presentations: ``source, label, route, route_label,
    count, total, percent, lower, upper`` (one row per NDTMS source, all ten listed)."""
    total = len(records)
    counts = records["referral_source"].value_counts().reindex(list(SOURCE_LABELS), fill_value=0)
    out = pd.DataFrame({"source": counts.index, "count": counts.to_numpy(dtype=int)})
    out["label"] = out["source"].map(SOURCE_LABELS)
    out["route"] = _route_of(out["source"])
    out["route_label"] = out["route"].map(ROUTE_LABELS)
    out["total"] = total
    if total:
        ci = proportion(out["count"], out["total"], confidence=confidence)
        out["percent"], out["lower"], out["upper"] = ci["value"], ci["lower"], ci["upper"]
    else:
        out["percent"] = out["lower"] = out["upper"] = np.nan
    route_order = list(ROUTES)
    out["_r"] = out["route"].map(route_order.index)
    return out.sort_values(["_r", "count"], ascending=[True, False]).drop(columns="_r").reset_index(drop=True)


def referral_routes_by(
    records: pd.DataFrame,
    breakdowns: Sequence[Breakdown],
    *,
    confidence: float = 0.95,
    total_label: str = "All",
) -> pd.DataFrame:
    """Counts by referral route for each group, with the criminal-justice and health
    shares (Wilson limits). Wide: ``breakdown, group, group_code, criminal_justice,
    health, self, other, total, cj_percent, cj_lower, cj_upper, health_percent,
    health_lower, health_upper``."""
    rec = records.assign(_route=_route_of(records["referral_source"]))
    for route in ROUTES:
        rec[f"_is_{route}"] = rec["_route"] == route
    base = None
    for route in ROUTES:
        part = proportions_by(rec, f"_is_{route}", breakdowns, confidence=confidence,
                              total_label=total_label)
        if base is None:
            base = part[["breakdown", "group", "group_code", "denominator"]].rename(
                columns={"denominator": "total"})
        base[route] = part["numerator"].to_numpy()
        if route == "criminal_justice":
            base["cj_percent"], base["cj_lower"], base["cj_upper"] = (
                part["percent"].to_numpy(), part["lower"].to_numpy(), part["upper"].to_numpy())
        if route == "health":
            base["health_percent"], base["health_lower"], base["health_upper"] = (
                part["percent"].to_numpy(), part["lower"].to_numpy(), part["upper"].to_numpy())
    cols = ["breakdown", "group", "group_code", *ROUTES, "total", "cj_percent", "cj_lower",
            "cj_upper", "health_percent", "health_lower", "health_upper"]
    return base[cols]


# ------------------------------------------------------------------------------ waiting times
def waiting_times(records: pd.DataFrame, *, threshold_days: int = 21) -> pd.DataFrame:
    """Add ``wait_days`` (referral to triage) and ``waited_over`` (> ``threshold_days``)
    to triaged records; records without a triage date are dropped."""
    out = records.loc[records["triage_date"].notna()]  # a new frame already: no second copy
    out["wait_days"] = (out["triage_date"] - out["referral_date"]).dt.days.astype(int)
    if (out["wait_days"] < 0).any():
        raise ValueError("triage before referral in some records")
    out["waited_over"] = out["wait_days"] > threshold_days
    return out


def median_ci(values: Sequence[float], *, confidence: float = 0.95) -> tuple[float, float, float]:
    """Median with a distribution-free confidence interval from order statistics
    (binomial method; Conover WJ, *Practical nonparametric statistics*, 3rd edn, 1999,
    section 3.2). Returns (median, lower, upper); limits NaN when there are too few
    values for the requested confidence."""
    x = np.sort(np.asarray(values, dtype=float))
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return (np.nan, np.nan, np.nan)
    med = float(np.median(x))
    alpha = 1 - confidence
    k = int(sps.binom.ppf(alpha / 2, n, 0.5))  # P(B <= k-1) < alpha/2
    if k < 1:
        return (med, np.nan, np.nan)
    return (med, float(x[k - 1]), float(x[n - k]))


def wait_summary(
    waits: pd.DataFrame,
    breakdowns: Sequence[Breakdown],
    *,
    confidence: float = 0.95,
    total_label: str = "All",
) -> pd.DataFrame:
    """Share waiting more than the threshold (Wilson limits) with the median and
    interquartile range of the wait in days, overall and by breakdown."""
    out = proportions_by(waits, "waited_over", breakdowns, confidence=confidence,
                         total_label=total_label)
    stats_rows = [waits["wait_days"]]
    for bd in breakdowns:
        key = waits[bd.code_column] if bd.code_column else waits[bd.column]
        groups = dict(tuple(waits["wait_days"].groupby(key.astype("string"), observed=True)))
        sub = out.loc[out["breakdown"] == bd.label]
        for code in sub["group_code"]:
            stats_rows.append(groups.get(code, pd.Series(dtype=float)))
    out["median"] = [float(s.median()) if len(s) else np.nan for s in stats_rows]
    out["q1"] = [float(s.quantile(0.25)) if len(s) else np.nan for s in stats_rows]
    out["q3"] = [float(s.quantile(0.75)) if len(s) else np.nan for s in stats_rows]
    return out


# ------------------------------------------------------------------------------ continuity
def continuity_of_care(
    releases: pd.DataFrame,
    episodes: pd.DataFrame,
    *,
    window_days: int = 21,
    follow_up_end: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Flag each prison release by whether the same ``client_id`` had a treatment triage
    from the day of release to ``window_days`` days after it (inclusive).

    Adds ``engaged`` (bool), ``days_to_triage`` (first qualifying triage, NA if none) and
    ``assessable`` (the whole window lies on or before ``follow_up_end``; always true
    when it is not given). Releases keep their order and columns.
    """
    rel = releases.reset_index(drop=True).copy()
    rel["_rid"] = np.arange(len(rel))
    triaged = episodes.loc[episodes["triage_date"].notna(), ["client_id", "triage_date"]]
    pairs = rel[["_rid", "client_id", "release_date"]].merge(triaged, on="client_id", how="inner")
    gap = (pairs["triage_date"] - pairs["release_date"]).dt.days
    ok = pairs.assign(gap=gap).loc[(gap >= 0) & (gap <= window_days)]
    first = ok.groupby("_rid")["gap"].min()
    rel["engaged"] = rel["_rid"].isin(first.index)
    rel["days_to_triage"] = rel["_rid"].map(first).astype("Int64")
    if follow_up_end is not None:
        rel["assessable"] = rel["release_date"] + pd.Timedelta(days=window_days) <= follow_up_end
    else:
        rel["assessable"] = True
    return rel.drop(columns="_rid")


def prison_referral_engagement(
    episodes: pd.DataFrame, years: Iterable[int], *, window_days: int = 21
) -> pd.DataFrame:
    """The weaker measure when no prison-release file is supplied: of episodes *referred*
    after a prison release (``prison_release_date`` set, release in ``years``), the share
    triaged within ``window_days`` of release. It misses everyone released who was never
    referred, so it overstates continuity of care."""
    years = list(years)
    ep = episodes.loc[episodes["prison_release_date"].notna()
                      & episodes["prison_release_date"].dt.year.isin(years)]
    gap = (ep["triage_date"] - ep["prison_release_date"]).dt.days
    ep["engaged"] = gap.between(0, window_days).fillna(False).astype(bool)
    return ep


# ------------------------------------------------------------------------------ comparators
CONTINUITY_PATTERNS = (r"continuity", r"release from prison", r"released from prison")
REFERRAL_PATTERNS = (r"referral source", r"referrals? from", r"source of referral")


def find_comparator(
    comparators: pd.DataFrame | None,
    patterns: Sequence[str],
    *,
    area_code: str | None = ENGLAND_CODE,
    area_type: str | None = None,
) -> dict | None:
    """The latest persons-level row of the first indicator whose name matches any of
    ``patterns`` (regular expressions, case-insensitive), for ``area_code`` (England by
    default) or ``area_type`` (e.g. "Region"). Returns a dict (``indicator_id,
    indicator_name, area_code, area_name, time_period, value, lower_ci95, upper_ci95,
    count, denominator``) or None when the file or indicator is absent."""
    if comparators is None or comparators.empty:
        return None
    names = comparators["indicator_name"].astype(str)
    hit = pd.Series(False, index=comparators.index)
    for pat in patterns:
        hit |= names.str.contains(pat, flags=re.IGNORECASE, regex=True, na=False)
    rows = comparators.loc[hit]
    if area_code is not None:
        rows = rows.loc[rows["area_code"] == area_code]
    if area_type is not None:
        rows = rows.loc[rows["area_type"].astype(str).str.lower() == area_type.lower()]
    row = latest_period(whole_population(rows))
    if row is None:
        return None
    keys = ("indicator_id", "indicator_name", "area_code", "area_name", "time_period",
            "value", "lower_ci95", "upper_ci95", "count", "denominator")
    return {k: (row[k] if k in row.index and pd.notna(row[k]) else None) for k in keys}


# ------------------------------------------------------------------------------ distance
def small_area_points(boundaries, points: pd.DataFrame | None = None) -> pd.DataFrame:
    """One point per small area in British National Grid metres: the population-weighted
    centroid where ``points`` supplies one (``small_area_code, easting, northing``), else
    a representative point of the polygon (always inside it, unlike the centroid of an
    odd-shaped area). Returns ``small_area_code, easting, northing, point``."""
    if boundaries is None:
        raise ValueError("no boundaries")
    b = boundaries
    if b.crs is not None and b.crs.to_epsg() != 27700:
        b = b.to_crs(27700)
    rep = b.geometry.representative_point()
    out = pd.DataFrame({"small_area_code": b["small_area_code"].astype(str).to_numpy(),
                        "easting": rep.x.to_numpy(), "northing": rep.y.to_numpy(),
                        "point": "representative point of the boundary"})
    if points is not None and not points.empty:
        pw = points.set_index("small_area_code")[["easting", "northing"]]
        has = out["small_area_code"].isin(pw.index)
        out.loc[has, "easting"] = out.loc[has, "small_area_code"].map(pw["easting"]).to_numpy()
        out.loc[has, "northing"] = out.loc[has, "small_area_code"].map(pw["northing"]).to_numpy()
        out.loc[has, "point"] = "population-weighted centroid"
    return out


def site_points(services: pd.DataFrame, *, adults: bool = True) -> pd.DataFrame:
    """Treatment sites with easting/northing (computed from longitude/latitude where
    only those are given); ``adults=True`` keeps sites serving adults (``adult`` or
    ``both``; every site when ``service_type`` is absent). Sites without coordinates are
    dropped."""
    s = services.copy()
    if "easting" not in s.columns:
        s["easting"] = np.nan
        s["northing"] = np.nan
    need = s["easting"].isna() | s["northing"].isna()
    if need.any() and {"longitude", "latitude"} <= set(s.columns):
        from pyproj import Transformer

        tr = Transformer.from_crs(4326, 27700, always_xy=True)
        fill = need & s["longitude"].notna() & s["latitude"].notna()
        if fill.any():
            e, n = tr.transform(s.loc[fill, "longitude"].to_numpy(), s.loc[fill, "latitude"].to_numpy())
            s.loc[fill, "easting"], s.loc[fill, "northing"] = e, n
    if adults and "service_type" in s.columns:
        s = s.loc[s["service_type"].isin(["adult", "both"]) | s["service_type"].isna()]
    s = s.loc[s["easting"].notna() & s["northing"].notna()]
    return s.reset_index(drop=True)


def nearest_site(points: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """Straight-line distance (km) from each point to the nearest site.

    Returns ``points`` with ``site_id``, ``site_name`` and ``distance_km``."""
    from scipy.spatial import cKDTree

    if sites.empty:
        raise ValueError("no treatment sites with coordinates")
    tree = cKDTree(sites[["easting", "northing"]].to_numpy(dtype=float))
    dist, idx = tree.query(points[["easting", "northing"]].to_numpy(dtype=float))
    out = points.copy()
    out["site_id"] = sites["site_id"].to_numpy()[idx]
    out["site_name"] = sites["site_name"].to_numpy()[idx]
    out["distance_km"] = dist / 1000.0
    return out


def _fmt_km(x: float) -> str:
    return f"{x:g}"


def distance_band(distance_km: pd.Series, edges: Sequence[float]) -> pd.Series:
    """Label distances with bands from ``edges`` (km, starting at 0; the last band is
    open): "Under 2 km", "2 to under 5 km", ..., "15 km or more"."""
    edges = list(edges)
    labels = []
    for i, lo in enumerate(edges):
        if i == 0:
            labels.append(f"Under {_fmt_km(edges[1])} km" if len(edges) > 1 else "All distances")
        elif i == len(edges) - 1:
            labels.append(f"{_fmt_km(lo)} km or more")
        else:
            labels.append(f"{_fmt_km(lo)} to under {_fmt_km(edges[i + 1])} km")
    bins = [*edges[1:], np.inf] if len(edges) > 1 else [np.inf]
    idx = np.searchsorted(np.asarray(bins), np.asarray(distance_km, dtype=float), side="right")
    cat = pd.Categorical.from_codes(np.minimum(idx, len(labels) - 1), categories=labels, ordered=True)
    return pd.Series(cat, index=distance_km.index, name="distance_band")


def choose_distance_edges(
    distance_km: pd.Series, *, min_areas: int = 5, candidates: Sequence[float] | None = None
) -> list[float]:
    """Band edges suited to the area: 0-2-5-10-15 km for a county, 0.5 km steps for a
    compact borough; neighbouring bands are merged until each holds at least
    ``min_areas`` small areas (or only one band is left)."""
    d = np.asarray(distance_km, dtype=float)
    if candidates is None:
        candidates = (0, 0.5, 1, 1.5, 2, 3) if np.nanmax(d) <= 5 else (0, 2, 5, 10, 15, 20)
    edges = [e for e in candidates if e == 0 or e < np.nanmax(d)]
    while len(edges) > 1:
        bins = [*edges[1:], np.inf]
        counts = np.bincount(np.searchsorted(bins, d, side="right"), minlength=len(edges))[: len(edges)]
        small = np.flatnonzero(counts < min_areas)
        if small.size == 0:
            break
        i = int(small[0])
        # merge band i with its smaller neighbour: drop the edge between them
        if i == 0:
            drop = 1
        elif i == len(edges) - 1:
            drop = i
        else:
            drop = i if counts[i - 1] <= counts[i + 1] else i + 1
        del edges[drop]
    return edges


def small_area_treatment(
    episodes: pd.DataFrame,
    population: pd.DataFrame,
    geography: pd.DataFrame,
    *,
    year: int,
) -> pd.DataFrame:
    """Adults (18+) in treatment during ``year`` and adult residents, by small area, with
    the small area's national deprivation decile. Returns ``small_area_code,
    in_treatment, adults, imd_decile``; people without a small area are not counted.
    ``population`` needs only ``small_area_code``, ``year``, ``age`` and ``age_band``."""
    people = in_treatment(episodes, year, adults=True)
    counts = people["small_area_code"].dropna().astype(str).value_counts()
    pop = population_in_ages(population, years=[year], min_age=18, by=["small_area_code"])
    pop["small_area_code"] = pop["small_area_code"].astype(str)
    out = geography[["small_area_code", "imd_decile"]].copy()
    out["small_area_code"] = out["small_area_code"].astype(str)
    out = out.merge(pop.rename(columns={"population": "adults"}), on="small_area_code", how="left")
    out["adults"] = out["adults"].fillna(0).astype(int)
    out["in_treatment"] = out["small_area_code"].map(counts).fillna(0).astype(int)
    return out[["small_area_code", "in_treatment", "adults", "imd_decile"]]


def rate_by_distance_band(frame: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Adult residents, their share, and the treatment rate per 100,000 adults (Byars /
    exact limits) by distance band. ``frame`` needs ``distance_band, adults,
    in_treatment``."""
    from needs_assessment.stats import crude_rate

    g = frame.groupby("distance_band", observed=False).agg(
        small_areas=("adults", "size"), adults=("adults", "sum"),
        in_treatment=("in_treatment", "sum")).reset_index()
    g = g.loc[g["small_areas"] > 0].reset_index(drop=True)
    g["adults_percent"] = g["adults"] / g["adults"].sum() * 100
    r = crude_rate(g["in_treatment"], g["adults"], confidence=confidence)
    g["rate"], g["lower"], g["upper"] = r["value"], r["lower"], r["upper"]
    g["distance_band"] = g["distance_band"].astype(str)
    return g


def distance_rate_ratio(
    frame: pd.DataFrame,
    *,
    per_km: float = 5.0,
    confidence: float = 0.95,
    adjust_deprivation: bool = True,
) -> dict | None:
    """Poisson regression of small-area treatment counts on distance, with the log of the
    adult population as offset, adjusted for national deprivation decile (as a factor):
    log E[count] = log(adults) + a + b x distance/per_km + decile effects.

    Standard errors are scaled by the Pearson dispersion (quasi-Poisson) because counts
    of people in treatment vary between small areas more than a Poisson model allows.
    Returns ``rate_ratio, lower, upper, p_value, per_km, small_areas, dispersion,
    adjusted`` or None when there are fewer than 10 small areas or no spread of distance.
    """
    import statsmodels.api as sm

    d = frame.loc[frame["adults"] > 0].copy()
    if len(d) < 10 or d["distance_km"].std() == 0:
        return None
    X = pd.DataFrame({"const": 1.0, "distance": d["distance_km"].to_numpy() / per_km},
                     index=d.index)
    if adjust_deprivation and d["imd_decile"].nunique() > 1:
        dec = pd.get_dummies(d["imd_decile"].astype(int), prefix="decile", drop_first=True,
                             dtype=float)
        X = pd.concat([X, dec], axis=1)
    model = sm.GLM(d["in_treatment"].to_numpy(dtype=float), X,
                   family=sm.families.Poisson(), offset=np.log(d["adults"].to_numpy(dtype=float)))
    fit = model.fit(scale="X2")
    b = float(fit.params["distance"])
    lo, hi = fit.conf_int(alpha=1 - confidence).loc["distance"]
    return {
        "rate_ratio": float(np.exp(b)),
        "lower": float(np.exp(lo)),
        "upper": float(np.exp(hi)),
        "p_value": float(fit.pvalues["distance"]),
        "per_km": per_km,
        "small_areas": int(len(d)),
        "dispersion": float(fit.scale),
        "adjusted": bool(adjust_deprivation and d["imd_decile"].nunique() > 1),
    }


def opening_summary(services: pd.DataFrame) -> pd.DataFrame:
    """Per site: days open, number of days, whether open at the weekend, and whether the
    file records evening opening (it has no hours column, so that is unknown)."""
    s = services.copy()
    days = s["opening_days"].fillna("") if "opening_days" in s.columns else pd.Series("", index=s.index)
    s["days_open"] = days.str.split(";").map(lambda xs: len([x for x in xs if x]))
    s["weekend"] = days.str.contains("Sat|Sun", regex=True)
    s["opening_days_known"] = days != ""
    return s


# ------------------------------------------------------------------------------ drop-out
def early_dropout(
    records: pd.DataFrame, *, days: int = 84, follow_up_end: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Flag triaged records: ``dropped_out_early`` (discharge reason ``dropped_out`` no
    more than ``days`` after triage), ``unplanned_early`` (dropped out, declined or
    withdrawn by the provider within ``days``) and ``assessable`` (triage at least
    ``days`` before ``follow_up_end``, so the whole window was observed)."""
    out = records.loc[records["triage_date"].notna()]  # a new frame already: no second copy
    span = (out["discharge_date"] - out["triage_date"]).dt.days
    within = out["discharge_date"].notna() & (span <= days)
    reason = out["discharge_reason"].astype("string")
    out["dropped_out_early"] = (within & (reason == "dropped_out")).fillna(False).astype(bool)
    out["unplanned_early"] = (within & reason.isin(list(UNPLANNED_EXITS))).fillna(False).astype(bool)
    if follow_up_end is not None:
        out["assessable"] = out["triage_date"] + pd.Timedelta(days=days) <= follow_up_end
    else:
        out["assessable"] = True
    return out


#: Above this many cells (records x parameters) the drop-out model is fitted on covariate
#: patterns instead of records: statsmodels' IRLS holds several dense copies of the
#: per-record design (at national scale 216,000 records x 315 parameters: 6.7 GB at peak
#: and 90 s of CPU), while there are at most a few thousand distinct patterns.
PER_RECORD_DESIGN_LIMIT = 5_000_000


def _binomial():
    """statsmodels' binomial family, collecting unreachable objects at each IRLS iteration.

    Each iteration of statsmodels' IRLS keeps its weighted copy of the design until
    Python's cycle collector runs, because the ``Bunch`` that holds it refers to itself;
    the collector seldom runs inside the loop, so at national scale five copies of a 40 MB
    design were held at once. Collecting as each iteration starts and ends keeps one; the
    arithmetic is untouched.
    """
    import gc

    import statsmodels.api as sm

    class CollectingBinomial(sm.families.Binomial):
        def weights(self, mu):  # as an iteration starts
            gc.collect()
            return super().weights(mu)

        def deviance(self, *args, **kwargs):  # as it ends
            gc.collect()
            return super().deviance(*args, **kwargs)

    return CollectingBinomial()


def dropout_model(
    records: pd.DataFrame,
    outcome: str,
    covariates: Mapping[str, str],
    *,
    confidence: float = 0.95,
    references: Mapping[str, str] | None = None,
    exclude: Sequence[str] = ("Not stated",),
) -> tuple[pd.DataFrame, dict]:
    """Logistic regression of ``outcome`` on categorical ``covariates`` ({label: column}),
    each level against a reference (the largest group unless ``references`` names one).

    Rows whose value is in ``exclude`` (e.g. sex not stated) are dropped, and so are
    levels in which everyone or no one has the outcome (their odds ratio cannot be
    estimated). Returns (table, info): the table has ``characteristic, level, reference,
    people, events, odds_ratio, lower, upper, p_value`` (reference rows have odds ratio 1);
    info has ``n``, ``events``, ``dropped_levels``, ``converged`` and ``fitted_on``.

    With every covariate categorical, the binomial likelihood of the records equals that
    of their covariate patterns (events out of people sharing one combination of levels;
    McCullagh P, Nelder JA, *Generalized linear models*, 2nd edn, 1989, section 4.2), so
    a large extract (more than :data:`PER_RECORD_DESIGN_LIMIT` design cells) is fitted on
    the patterns: the same model, whose estimates agree with the per-record fit to the
    IRLS convergence tolerance (odds ratios to about 1e-13, limits to about 1e-8
    relative), in a fraction of the memory and time. ``fitted_on`` says which was used.
    """
    import statsmodels.api as sm

    references = dict(references or {})
    data = records[[outcome, *covariates.values()]].copy()
    for col in covariates.values():
        data = data.loc[~data[col].isin(list(exclude)) & data[col].notna()]
    dropped: list[str] = []
    y = data[outcome].astype(bool)
    for label, col in covariates.items():
        rates = y.groupby(data[col]).agg(["mean", "size"])
        bad = rates.index[(rates["mean"] == 0) | (rates["mean"] == 1)]
        if len(bad):
            dropped += [f"{label}: {b}" for b in bad]
            keep = ~data[col].isin(list(bad))
            data, y = data.loc[keep], y.loc[keep]
    values = {label: data[col].astype(str) for label, col in covariates.items()}
    refs: dict[str, str] = {}
    terms: list[tuple[str, str]] = []  # (label, level) of each non-reference column
    for label, col in covariates.items():
        sizes = values[label].value_counts()
        ref = references.get(label)
        if ref is None or ref not in sizes.index:
            ref = str(sizes.index[0])
        refs[label] = ref
        terms += [(label, level) for level in _order(sizes.index, col) if level != ref]
    if len(data) * (len(terms) + 1) <= PER_RECORD_DESIGN_LIMIT:
        X = [pd.Series(1.0, index=data.index, name="const")]
        X += [(values[label] == level).astype(float).rename(f"{label}={level}")
              for label, level in terms]
        fit = sm.GLM(y.astype(float), pd.concat(X, axis=1), family=_binomial()).fit()
        fitted_on = "records"
    else:
        patterns = (pd.DataFrame(values).assign(_events=y.astype("int64").to_numpy())
                    .groupby(list(covariates), sort=True)["_events"].agg(["sum", "size"])
                    .reset_index())
        X = pd.DataFrame({"const": np.ones(len(patterns))} | {
            f"{label}={level}": (patterns[label] == level).to_numpy(dtype=float)
            for label, level in terms})
        events = patterns["sum"].to_numpy(dtype=float)
        # two-column response: events and non-events out of each pattern's people
        endog = np.column_stack([events, patterns["size"].to_numpy(dtype=float) - events])
        del patterns
        fit = sm.GLM(endog, X, family=_binomial()).fit()
        fitted_on = f"{len(endog):,} covariate patterns"
    ci = fit.conf_int(alpha=1 - confidence)
    rows = []
    for label, col in covariates.items():
        people = values[label].value_counts()
        events_by = y.groupby(values[label]).sum()
        for level in _order(values[label].unique(), col):
            row = {"characteristic": label, "level": level, "reference": level == refs[label],
                   "people": int(people[level]), "events": int(events_by[level])}
            if level == refs[label]:
                row.update(odds_ratio=1.0, lower=np.nan, upper=np.nan, p_value=np.nan)
            else:
                name = f"{label}={level}"
                row.update(odds_ratio=float(np.exp(fit.params[name])),
                           lower=float(np.exp(ci.loc[name, 0])),
                           upper=float(np.exp(ci.loc[name, 1])),
                           p_value=float(fit.pvalues[name]))
            rows.append(row)
    info = {"n": int(len(y)), "events": int(y.sum()), "dropped_levels": dropped,
            "converged": bool(fit.converged), "references": refs, "fitted_on": fitted_on}
    return pd.DataFrame(rows), info


# ------------------------------------------------------------------------------ summary
def worse_groups(
    table: pd.DataFrame,
    *,
    area_value: float,
    polarity: str,
    exclude: Sequence[str] = UNKNOWN_GROUPS,
    value: str = "percent",
    tests: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rows of a long group table whose interval lies wholly on the bad side of the
    area value (Fingertips rule), worst first. With ``tests`` (from
    :func:`difference_tests`), only groups of breakdowns whose overall test is
    significant are kept, so a group is never named when its breakdown shows no
    difference once the number of tests is allowed for."""
    t = table.loc[(table["breakdown"] != "All") & ~table["group"].isin(list(exclude))].copy()
    if tests is not None:
        sig = set(tests.loc[tests["significant"].astype(bool), "breakdown"])
        t = t.loc[t["breakdown"].isin(sig)]
    t = t.loc[t["lower"].notna() & t["upper"].notna()]
    if t.empty:
        return t
    t["compared"] = compare_with_area(t, area_value=area_value, polarity=polarity)
    bad = t.loc[t["compared"] == "Worse"]
    return bad.sort_values(value, ascending=polarity == "high_is_good")


def interval_text(
    frame: pd.DataFrame, value: str, lower: str, upper: str, *, decimals: int = 1,
    marker: str = "[c]", thousands: bool = False,
) -> pd.Series:
    """Compact display text "18.6 (17.7 to 19.5)" from a published frame's value and limit
    columns; a suppressed value stays the marker and a missing limit shows the value
    alone. For narrow tables on screen and in the PDF (the recorded table keeps separate
    columns)."""
    fmt = f"{{:,.{decimals}f}}" if thousands else f"{{:.{decimals}f}}"

    def one(v, lo, hi):
        if isinstance(v, str):
            return v
        if v is None or pd.isna(v):
            return "[x]"
        text = fmt.format(float(v))
        if isinstance(lo, str) or isinstance(hi, str):
            return text
        if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
            return text
        return f"{text} ({fmt.format(float(lo))} to {fmt.format(float(hi))})"

    return pd.Series([one(v, lo, hi) for v, lo, hi in zip(frame[value], frame[lower], frame[upper],
                                                           strict=True)], index=frame.index)


def publishable_share(row, rules) -> bool:
    """Whether a share can be quoted without revealing a small count: neither the
    numerator nor the remainder (denominator - numerator) is disclosive under ``rules``."""
    num, den = float(row["numerator"]), float(row["denominator"])
    if den <= 0:
        return False
    return not (rules.is_disclosive(num) or rules.is_disclosive(den - num))


def group_key(breakdown: str, group: str, code: str | None = None) -> str:
    """Stable key suffix for a group: ``age_18_24``, ``female``, ``opiate_and_crack``, or
    the area code for a district or ward."""
    if breakdown == "Age group":
        return "age_" + re.sub(r"[^0-9a-z]+", "_", group.lower().replace("+", "_plus")).strip("_")
    if breakdown in ("District", "Ward") and code:
        return str(code)
    inverse = {v: k for k, v in SUBSTANCE_LABELS.items()}
    if group in inverse:
        return inverse[group]
    return re.sub(r"[^0-9a-z]+", "_", group.lower()).strip("_")


def area_comparison(row, area_row, *, polarity: str, confidence: float, label: str) -> dict:
    """Comparison dict of a group's share against the whole area's share."""
    result = compare_with_benchmark(float(row["lower"]), float(row["upper"]),
                                    float(area_row["percent"]), polarity=polarity)
    return {"label": label, "value": float(area_row["percent"]),
            "lower": float(area_row["lower"]), "upper": float(area_row["upper"]),
            "result": result,
            "method": f"{confidence * 100:g}% confidence interval of the group's value "
                      f"compared with the whole-area value"}


def benchmark_comparison(value_lower: float, value_upper: float, bench: dict | None, *,
                         polarity: str, confidence: float) -> dict | None:
    """Comparison dict of the area's interval against a comparator row from
    :func:`find_comparator` (England or region), or None when there is no comparator."""
    if bench is None or bench.get("value") is None:
        return None
    result = compare_with_benchmark(value_lower, value_upper, float(bench["value"]),
                                    polarity=polarity)
    return {"label": str(bench["area_name"]), "value": float(bench["value"]),
            "lower": None if bench.get("lower_ci95") is None else float(bench["lower_ci95"]),
            "upper": None if bench.get("upper_ci95") is None else float(bench["upper_ci95"]),
            "result": result,
            "method": f"{confidence * 100:g}% confidence interval of the local value compared "
                      f"with the {bench['area_name']} value ({bench['time_period']}), "
                      "Fingertips method"}


def who_is_not_reached(
    *,
    rules,
    level: str,
    dropout: pd.DataFrame | None = None,
    waits: pd.DataFrame | None = None,
    continuity: pd.DataFrame | None = None,
    continuity_england: dict | None = None,
    referrals: pd.DataFrame | None = None,
    distance: dict | None = None,
    tests: Mapping[str, pd.DataFrame] | None = None,
    max_items: int = 3,
) -> list[str]:
    """Plain-English points naming the groups and places with the weakest access.

    Each table is a long group table (``breakdown, group, numerator, denominator,
    percent, lower, upper``) whose first row is the whole area. A group is named only if
    its interval lies wholly on the bad side of the whole-area value and its counts are
    not disclosive and, when ``tests`` holds the :func:`difference_tests` result for that
    measure (keys ``dropout``, ``waits``, ``continuity``, ``referrals``), its breakdown
    differs significantly overall. ``distance`` may carry ``rate_ratio``, ``lower``, ``upper``,
    ``per_km``, ``far_share`` (percent of adults beyond ``far_km``) and ``far_areas``.
    """
    points: list[str] = []
    tests = dict(tests or {})

    def names(bad: pd.DataFrame) -> str:
        bad = bad.loc[[publishable_share(r, rules) for _, r in bad.iterrows()]]
        return "; ".join(
            f"{r['group']} ({r['breakdown'].lower()}) {r['percent']:.1f}%"
            for _, r in bad.head(max_items).iterrows())

    if continuity is not None and not continuity.empty:
        a = continuity.iloc[0]
        text = (f"{a['percent']:.1f}% of releases from prison were followed by community "
                "treatment within 3 weeks")
        if continuity_england and continuity_england.get("value") is not None:
            eng = float(continuity_england["value"])
            verdict = compare_with_benchmark(float(a["lower"]), float(a["upper"]), eng,
                                             polarity="high_is_good")
            text += (f", against {eng:.1f}% in England ({verdict.lower()} than England)"
                     if verdict != "Similar" else f", similar to England ({eng:.1f}%)")
        bad = worse_groups(continuity, area_value=float(a["percent"]), polarity="high_is_good",
                           tests=tests.get("continuity"))
        listed = names(bad) if not bad.empty else ""
        points.append(text + (f"; significantly lower in: {listed}." if listed else "."))
    if dropout is not None and not dropout.empty:
        a = dropout.iloc[0]
        bad = worse_groups(dropout, area_value=float(a["percent"]), polarity="low_is_good",
                           tests=tests.get("dropout"))
        listed = names(bad.sort_values("percent", ascending=False)) if not bad.empty else ""
        if listed:
            points.append(f"Early drop-out (within 12 weeks) is {a['percent']:.1f}% overall but "
                          f"significantly higher for: {listed}.")
        else:
            points.append(f"Early drop-out (within 12 weeks) is {a['percent']:.1f}% overall, with "
                          "no group significantly above that once the number of comparisons is "
                          "allowed for.")
    if waits is not None and not waits.empty:
        a = waits.iloc[0]
        bad = worse_groups(waits, area_value=float(a["percent"]), polarity="low_is_good",
                           tests=tests.get("waits"))
        listed = names(bad.sort_values("percent", ascending=False)) if not bad.empty else ""
        if listed:
            points.append(f"{a['percent']:.1f}% waited more than 3 weeks from referral to "
                          f"triage; significantly more in: {listed}.")
        else:
            points.append(f"{a['percent']:.1f}% waited more than 3 weeks from referral to triage; "
                          "no group or place waited significantly longer once the number of "
                          "comparisons is allowed for.")
    if referrals is not None and not referrals.empty:
        a = referrals.iloc[0]
        places = referrals.loc[referrals["breakdown"] == level.title()]
        low = worse_groups(places, area_value=float(a["percent"]), polarity="high_is_good",
                           tests=tests.get("referrals"))
        listed = names(low) if not low.empty else ""
        if listed:
            points.append(f"Criminal-justice routes brought {a['percent']:.1f}% of new "
                          f"presentations; significantly fewer in: {listed}.")
    if distance:
        rr = distance.get("rate_ratio")
        bits = []
        if distance.get("far_share"):
            bits.append(f"{distance['far_share']:.1f}% of adults live more than "
                        f"{distance.get('far_km', 5):g} km (straight line) from the nearest site")
        elif distance.get("max_km") is not None:
            bits.append(f"every small area is within {distance['max_km']:.1f} km (straight line) "
                        "of a site")
        if distance.get("far_areas"):
            bits.append("farthest on average: " + ", ".join(distance["far_areas"]))
        if rr is not None:
            per = distance.get("per_km", 5)
            if distance["upper"] < 1:
                bits.append(f"treatment rates fall with distance (rate ratio {rr:.2f} per {per:g} km, "
                            f"{distance['lower']:.2f} to {distance['upper']:.2f})")
            elif distance["lower"] > 1:
                bits.append(f"treatment rates rise with distance (rate ratio {rr:.2f} per {per:g} km)")
            else:
                bits.append("treatment rates are not significantly related to distance once "
                            "deprivation is allowed for")
        if bits:
            text = "; ".join(bits)
            points.append(text[0].upper() + text[1:] + ".")
    return points
