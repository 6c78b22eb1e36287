"""Key findings, written from recorded indicators.

A finding is a recorded indicator whose comparison with a benchmark (England, the region,
the whole area, or everyone else) is significant at the level the chapter used. Indicators
a chapter tags ``role: context`` (descriptive breakdowns such as treatment rates by age,
where a difference is expected and carries no judgement) are not findings. A finding is a
*concern* when the comparison is unfavourable, when prevalence is significantly higher in a
place, or when a group is under-represented; a *strength* when it is favourable. Each is
one sentence carrying the number, its interval and the comparison, for example:

    Unmet need for opiate and crack treatment in Southbridge is 71% (66% to 75%),
    significantly higher than Anyshire (54%).

Findings are ordered by the size of the gap (relative difference from the benchmark), so
the largest disparities come first. Nothing here computes a statistic: every number comes
from the indicator as the chapter recorded it.

An indicator a chapter tags with ``caveat`` (for example a prevalence figure resting on a
capture–recapture estimate that is sensitive to the choice of model) carries it into its
finding: the sentence ends "Caveat: <text>." and :attr:`Finding.caveat` holds the text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from needs_assessment.results import Comparison, Indicator

__all__ = ["Finding", "build_findings", "format_value", "format_interval_text", "with_caveat"]

SIGNIFICANT = {"Worse", "Better", "Higher", "Lower"}
CONCERN = {"Worse"}


def _decimals(value: float, unit: str) -> int:
    if unit == "ratio":
        return 2
    if unit in ("people", "number", "days"):
        return 0
    magnitude = abs(value)
    if magnitude >= 100:
        return 0
    if magnitude >= 10:
        return 0 if unit == "%" else 1
    return 1


def format_value(value: float | None, unit: str, *, decimals: int | None = None) -> str:
    """A value with its unit as a reader expects it: '71%', '12.3 per 100,000',
    '3,709 people', '0.67'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not available"
    d = _decimals(value, unit) if decimals is None else decimals
    number = f"{value:,.{d}f}"
    if unit == "%":
        return f"{number}%"
    if unit.startswith("per "):
        return f"{number} {unit}"
    if unit in ("people", "days"):
        return f"{number} {unit}"
    return number


def format_interval_text(lower: float | None, upper: float | None, unit: str, *, decimals: int | None = None) -> str:
    """'(66% to 75%)' or '' when there is no interval."""
    if lower is None or upper is None:
        return ""
    if any(isinstance(v, float) and math.isnan(v) for v in (lower, upper)):
        return ""
    ref = max(abs(lower), abs(upper))
    d = _decimals(ref, unit) if decimals is None else decimals
    suffix = "%" if unit == "%" else ""
    return f"({lower:,.{d}f}{suffix} to {upper:,.{d}f}{suffix})"


@dataclass(frozen=True)
class Finding:
    """One key finding: the sentence and the evidence it rests on."""

    key: str
    sentence: str
    chapter: str
    label: str
    area: str
    value: float
    lower: float | None
    upper: float | None
    unit: str
    period: str
    comparator_label: str
    comparator_value: float | None
    result: str
    direction: str  # "higher" / "lower"
    concern: bool  # True when the comparison is unfavourable (or a notable difference)
    gap: float  # relative difference from the benchmark, for ordering
    outcome: str | None
    source_kind: str
    tags: Mapping[str, str] = field(default_factory=dict)
    caveat: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tags"] = dict(self.tags)
        return data


def with_caveat(sentence: str, caveat: str | None) -> str:
    """``sentence`` followed by "Caveat: <caveat>." when there is one.

    >>> with_caveat("Unmet need is 54%.", "this rests on a model-sensitive estimate")
    'Unmet need is 54%. Caveat: this rests on a model-sensitive estimate.'
    """
    if not caveat:
        return sentence
    return f"{sentence} Caveat: {caveat.rstrip('.')}."


def _choose_comparison(indicator: Indicator) -> Comparison | None:
    """The most meaningful significant comparison: an unfavourable one first, then the
    first significant one (England before region before the area, as recorded)."""
    significant = [c for c in indicator.comparisons if c.result in SIGNIFICANT and c.value is not None]
    if not significant:
        return None
    for comparison in significant:
        if comparison.result in CONCERN:
            return comparison
    return significant[0]


def group_phrase(tags: Mapping[str, str]) -> str:
    """How a group reads in a sentence: 'women', 'people aged 18-24', 'people from the Asian
    ethnic group', 'people recorded as Muslim (religion or belief)'."""
    group = str(tags.get("group", "")).split(",")[0].strip()
    breakdown = str(tags.get("breakdown", "")).lower()
    if ": " in group:  # e.g. "Age group: 18-24"
        prefix, group = group.split(": ", 1)
        breakdown = breakdown or prefix.lower()
    field = str(tags.get("field", ""))
    if not group:
        return "people"
    if group in ("Men", "Women"):
        return group.lower()
    if group.startswith("aged "):
        return f"people {group}"
    if breakdown.startswith("age") or group[:1].isdigit():
        return f"people aged {group}"
    if breakdown.startswith("ethnic") or field == "ethnicity" or breakdown == "race":
        if group.lower().endswith("group"):
            return f"people from the {group[0].lower()}{group[1:]}" if group.startswith("Other") else f"people from the {group}"
        return f"people from the {group} ethnic group"
    if breakdown:
        return f"people recorded as {group} ({breakdown})"
    return f"the {group} group"


def _subject(indicator: Indicator) -> str:
    """'<label> in <area>', unless the label already names the area (sub-area labels
    often end with the place's name)."""
    tags = indicator.tags or {}
    label = indicator.label
    if tags.get("level") == "group" and tags.get("group") and ", " in label and ": " not in label:
        base = label.split(", ")[0]
        return f"{base} among {group_phrase(tags)} in {indicator.area}"
    area = str(indicator.area)
    for suffix in (f", {area}", f": {area}", f" - {area}"):
        if label.endswith(suffix):
            label = label[: -len(suffix)]
    return f"{label} in {area}"


def _inequality_sentence(indicator: Indicator) -> str:
    measure = indicator.label.split(": ", 1)[-1].split(" (most")[0]
    times = indicator.value
    return (
        f"{measure} in {indicator.area} ({indicator.period}) were {times:.1f} times as high in the most deprived "
        f"places as in the least deprived: relative index of inequality {format_value(times, 'ratio')} "
        f"{format_interval_text(indicator.lower, indicator.upper, 'ratio')}."
    )


def _count_text(count: float | None, threshold: int) -> str:
    """A count for a sentence, never a disclosive small number."""
    if count is None:
        return "an unknown number of"
    if 0 < count < threshold:
        return f"fewer than {threshold}"
    return format_value(count, "number")


def _representation_sentence(indicator: Indicator, comparison: Comparison, threshold: int) -> str:
    word = "fewer" if comparison.result == "Lower" else "more"
    expected = indicator.denominator
    return (
        f"In {indicator.area} in {indicator.period}, {_count_text(indicator.count, threshold)} adults in treatment were "
        f"{group_phrase(indicator.tags or {})}, {word} than the {format_value(expected, 'number')} expected from the "
        f"population of the places they live: a ratio of {format_value(indicator.value, 'ratio')} "
        f"{format_interval_text(indicator.lower, indicator.upper, 'ratio')}."
    )


def _engagement_sentence(indicator: Indicator, comparison: Comparison, direction: str) -> str:
    return (
        f"Of people with opiate or crack use known to probation, police custody or hospitals in "
        f"{indicator.area} in {indicator.period}, {format_value(indicator.value, indicator.unit)} "
        f"{format_interval_text(indicator.lower, indicator.upper, indicator.unit)} of "
        f"{group_phrase(indicator.tags or {})} were in treatment, significantly {direction} than "
        f"{comparison.label} ({format_value(comparison.value, indicator.unit)})."
    )


def _sentence(indicator: Indicator, comparison: Comparison, direction: str, threshold: int) -> str:
    tags = indicator.tags or {}
    if tags.get("theme") == "equality" and tags.get("field"):
        return _representation_sentence(indicator, comparison, threshold)
    if indicator.key.startswith("people.engagement."):
        return _engagement_sentence(indicator, comparison, direction)
    if indicator.key.startswith("places.rii.") and indicator.value is not None:
        return _inequality_sentence(indicator)
    subject = _subject(indicator)
    value = format_value(indicator.value, indicator.unit)
    interval = format_interval_text(indicator.lower, indicator.upper, indicator.unit)
    comp_value = format_value(comparison.value, indicator.unit)
    period = f" ({indicator.period})" if indicator.period and indicator.period not in subject else ""
    return (
        f"{subject[0].upper()}{subject[1:]}{period}: {value}"
        + (f" {interval}" if interval else "")
        + f", significantly {direction} than {comparison.label} ({comp_value})."
    )


def build_findings(indicators: Iterable[Indicator], *, disclosure_threshold: int = 5) -> list[Finding]:
    """Findings from every indicator with a significant comparison, largest gap first
    (unfavourable findings before favourable ones of the same size). Counts quoted in a
    sentence below ``disclosure_threshold`` are written as "fewer than N"."""
    findings = []
    for indicator in indicators:
        if indicator.value is None or (indicator.tags or {}).get("role") == "context":
            continue
        comparison = _choose_comparison(indicator)
        if comparison is None:
            continue
        value, benchmark = float(indicator.value), float(comparison.value)
        direction = "higher" if value > benchmark else "lower"
        gap = abs(value - benchmark) / abs(benchmark) if benchmark else float("inf")
        theme = (indicator.tags or {}).get("theme")
        concern = comparison.result == "Worse" or (
            indicator.polarity == "no_judgement"
            and (
                (theme == "prevalence" and comparison.result == "Higher")
                or (theme == "equality" and comparison.result == "Lower")
            )
        )
        caveat = (indicator.tags or {}).get("caveat") or None
        findings.append(
            Finding(
                key=indicator.key,
                sentence=with_caveat(_sentence(indicator, comparison, direction, disclosure_threshold), caveat),
                chapter=indicator.chapter,
                label=indicator.label,
                area=indicator.area,
                value=value,
                lower=indicator.lower,
                upper=indicator.upper,
                unit=indicator.unit,
                period=indicator.period,
                comparator_label=comparison.label,
                comparator_value=benchmark,
                result=comparison.result,
                direction=direction,
                concern=bool(concern),
                gap=gap,
                outcome=indicator.outcome,
                source_kind=indicator.source_kind,
                tags=dict(indicator.tags or {}),
                caveat=caveat,
            )
        )
    findings.sort(key=lambda f: (-f.gap if math.isfinite(f.gap) else -1e9, not f.concern, f.key))
    return findings


def headline_findings(findings: Iterable[Finding], n: int = 8) -> list[Finding]:
    """Up to ``n`` findings for a summary: the largest gap in each family of indicators
    first (``places.rii``, ``prevalence.ocu_unmet_need`` … — the key's first two parts), so
    one theme with many sub-areas cannot crowd out the others; then the rest by gap."""
    findings = list(findings)
    seen: set[str] = set()
    first, rest = [], []
    for finding in findings:
        family = ".".join(finding.key.split(".")[:2])
        (rest if family in seen else first).append(finding)
        seen.add(family)
    return (first + rest)[:n]
