"""The recommendations engine: rules (data, in YAML) turn findings into recommendations,
and analysts add, edit or suppress them in a params file, their text winning.

Every recommendation carries its evidence — the indicator, its value, interval and
comparator, exactly as the chapter recorded it — the strategy priority and the Box 6 local
commitment it serves ("From Harm to Hope: guidance for local delivery partners", 2022),
the outcomes-framework outcome it moves, a suggested lead partner, a priority and a
timescale. A rule makes at most one recommendation, naming every place or group whose
finding triggered it, so the board sees one action per problem; the rule's ID is the
recommendation's ID (e.g. ``ocu-unmet-need-place``), which analysts use to edit or
suppress it.

A recommendation resting on an indicator tagged with a ``caveat`` (e.g. prevalence from a
capture–recapture estimate sensitive to the choice of model) carries the caveat at the end
of its text and in :attr:`Recommendation.caveat`; its evidence sentence carries it too.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from needs_assessment.findings import (
    Finding,
    format_interval_text,
    format_value,
    group_phrase,
    with_caveat,
)
from needs_assessment.framework import COMMITMENTS, OUTCOMES, STRATEGY_PRIORITIES
from needs_assessment.params import format_validation_error
from needs_assessment.results import Indicator

__all__ = [
    "Recommendation",
    "RecommendationEdits",
    "RecommendationsError",
    "apply_edits",
    "build_recommendations",
    "load_edits",
    "load_rules",
]

PRIORITY_ORDER = {"high": 0, "medium": 1, "low": 2}


class RecommendationsError(ValueError):
    """Rules or an analyst's edits file are invalid; the message names the file and key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Fields(_Strict):
    priority_strategy: str
    commitment: str
    outcome: str
    lead_partner: str
    priority: Literal["high", "medium", "low"]
    timescale: str

    @model_validator(mode="after")
    def _known_framework_terms(self):
        if self.priority_strategy not in STRATEGY_PRIORITIES:
            raise ValueError(
                f"priority_strategy {self.priority_strategy!r} is not a strategy priority "
                f"(expected one of: {'; '.join(STRATEGY_PRIORITIES)})"
            )
        if self.commitment not in COMMITMENTS[self.priority_strategy]:
            raise ValueError(
                f"commitment {self.commitment!r} is not a Box 6 commitment under "
                f"{self.priority_strategy!r} (expected one of: {'; '.join(COMMITMENTS[self.priority_strategy])})"
            )
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome {self.outcome!r} is not an outcomes-framework outcome (expected one of: {'; '.join(OUTCOMES)})")
        return self


class _Match(_Strict):
    indicator: str
    result: list[str] = Field(default_factory=list)
    below: float | None = None
    above: float | None = None


class Rule(_Fields):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    when: list[_Match] = Field(min_length=1)
    text: str

    @field_validator("when", mode="before")
    @classmethod
    def _one_or_many(cls, value):
        return [value] if isinstance(value, dict) else value


class _RuleFile(_Strict):
    rules: list[Rule]
    threshold_rules: list[Rule] = Field(default_factory=list)


class _Evidence(_Strict):
    indicator: str


class AddedRecommendation(_Fields):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    text: str
    finding: str = ""
    evidence: _Evidence | None = None


class EditedRecommendation(_Strict):
    text: str | None = None
    priority_strategy: str | None = None
    commitment: str | None = None
    outcome: str | None = None
    lead_partner: str | None = None
    priority: Literal["high", "medium", "low"] | None = None
    timescale: str | None = None


class RecommendationEdits(_Strict):
    """An analyst's edits file (the params' ``recommendations:``)."""

    add: list[AddedRecommendation] = Field(default_factory=list)
    edit: dict[str, EditedRecommendation] = Field(default_factory=dict)
    suppress: list[str] = Field(default_factory=list)
    suppress_reasons: dict[str, str] = Field(default_factory=dict)

    @field_validator("suppress")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("suppress lists an id twice")
        return value


@dataclass(frozen=True)
class Recommendation:
    """One row of the recommendations table."""

    id: str
    number: int
    text: str
    finding: str
    indicator_key: str | None
    indicator_label: str | None
    further_evidence: str
    value: float | None
    lower: float | None
    upper: float | None
    unit: str | None
    period: str | None
    comparator: str | None
    comparator_value: float | None
    comparison: str | None
    priority_strategy: str
    commitment: str
    outcome: str
    lead_partner: str
    priority: str
    timescale: str
    origin: str  # "rule:<id>", "analyst", "rule:<id>, edited by analyst"
    source_kind: str | None
    caveat: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _format_pydantic(where: str, exc: ValidationError) -> str:
    return format_validation_error(f"recommendations in {where}", exc, reference="params/README.md")


def load_rules(path: str | os.PathLike | None = None) -> _RuleFile:
    """The rules shipped with the workbook (or another rules file)."""
    if path is None:
        text = resources.files("needs_assessment").joinpath("resources/recommendation_rules.yaml").read_text("utf-8")
        where = "needs_assessment/resources/recommendation_rules.yaml"
    else:
        text, where = Path(path).read_text("utf-8"), str(path)
    try:
        return _RuleFile.model_validate(yaml.safe_load(text))
    except ValidationError as exc:
        raise RecommendationsError(_format_pydantic(where, exc)) from None


def load_edits(path: str | os.PathLike | None) -> RecommendationEdits:
    if path is None:
        return RecommendationEdits()
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text("utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RecommendationsError(f"Recommendations file {path} is not valid YAML: {exc}") from None
    try:
        return RecommendationEdits.model_validate(raw)
    except ValidationError as exc:
        raise RecommendationsError(_format_pydantic(str(path), exc)) from None


def _matches(indicator: Indicator, match: _Match, finding: Finding | None) -> bool:
    if not fnmatch.fnmatchcase(indicator.key, match.indicator):
        return False
    if match.result:
        return finding is not None and finding.result in match.result
    if indicator.value is None:
        return False
    if match.below is not None and not indicator.value < match.below:
        return False
    return not (match.above is not None and not indicator.value > match.above)


def _group(indicator: Indicator) -> str:
    tags = indicator.tags or {}
    if tags.get("group"):
        return group_phrase(tags)
    return str(tags.get("substance") or "people in treatment")


def _join(items: Sequence[str]) -> str:
    items = list(dict.fromkeys(i for i in items if i))
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _fill(template: str, matched: Sequence[tuple[Indicator, Finding | None]]) -> str:
    indicator, finding = matched[0]
    values = {
        "area": _join([str(i.area) for i, _ in matched]),
        "finding": finding.sentence if finding else "",
        "value": format_value(indicator.value, indicator.unit),
        "interval": format_interval_text(indicator.lower, indicator.upper, indicator.unit),
        "comparator": (
            f"{finding.comparator_label} ({format_value(finding.comparator_value, indicator.unit)})" if finding else ""
        ),
        "group": _join([_group(i) for i, _ in matched]),
        "label": indicator.label,
        "label_lower": _join([i.label[0].lower() + i.label[1:] for i, _ in matched]),
    }
    return " ".join(template.format(**values).split())


def build_recommendations(
    indicators: Mapping[str, Indicator],
    findings: Sequence[Finding],
    *,
    rules: _RuleFile | None = None,
    max_further: int = 6,
) -> list[Recommendation]:
    """One recommendation per rule that any indicator triggers. Its text names every place
    or group concerned; its evidence is the matching finding with the largest gap (the
    others are listed as further evidence). Sorted by priority, then by that gap."""
    rules = rules or load_rules()
    by_key = {f.key: f for f in findings}
    made: list[tuple[tuple, Recommendation]] = []
    for rule in [*rules.rules, *rules.threshold_rules]:
        matched = []
        for indicator in indicators.values():
            finding = by_key.get(indicator.key)
            if any(_matches(indicator, m, finding) for m in rule.when):
                matched.append((indicator, finding))
        if not matched:
            continue
        matched.sort(key=lambda item: (-(item[1].gap if item[1] else 0.0), item[0].key))
        indicator, finding = matched[0]
        sentence = finding.sentence if finding else with_caveat(
            f"{indicator.label} in {indicator.area}: {format_value(indicator.value, indicator.unit)}.",
            (indicator.tags or {}).get("caveat"),
        )
        further = [
            f.sentence if f else f"{i.label} in {i.area}: {format_value(i.value, i.unit)}."
            for i, f in matched[1 : 1 + max_further]
        ]
        if len(matched) > 1 + max_further:
            further.append(f"and {len(matched) - 1 - max_further} more")
        text = _fill(rule.text, matched)
        caveats = list(dict.fromkeys(c for i, _ in matched if (c := (i.tags or {}).get("caveat"))))
        caveat = "; ".join(c.rstrip(".") for c in caveats) or None
        text = with_caveat(text, caveat)
        if indicator.source_kind == "illustrative":
            # Evidence from generated records of a real area: never presented as fact.
            text = f"Illustrative only, from generated records (not a finding about the area): {text}"
        rec = Recommendation(
            id=rule.id,
            number=0,
            text=text,
            finding=sentence,
            indicator_key=indicator.key,
            indicator_label=indicator.label,
            further_evidence=" ".join(further),
            value=indicator.value,
            lower=indicator.lower,
            upper=indicator.upper,
            unit=indicator.unit,
            period=indicator.period,
            comparator=finding.comparator_label if finding else None,
            comparator_value=finding.comparator_value if finding else None,
            comparison=finding.result if finding else None,
            priority_strategy=rule.priority_strategy,
            commitment=rule.commitment,
            outcome=rule.outcome,
            lead_partner=rule.lead_partner,
            priority=rule.priority,
            timescale=rule.timescale,
            origin=f"rule:{rule.id}",
            source_kind=indicator.source_kind,
            caveat=caveat,
        )
        gap = finding.gap if finding else 0.0
        made.append(((PRIORITY_ORDER[rule.priority], -gap, rec.id), rec))
    made.sort(key=lambda item: item[0])
    return [_renumber(rec, i) for i, (_, rec) in enumerate(made, start=1)]


def _renumber(rec: Recommendation, number: int) -> Recommendation:
    return Recommendation(**{**rec.to_dict(), "number": number})


def apply_edits(
    recommendations: Sequence[Recommendation],
    edits: RecommendationEdits,
    indicators: Mapping[str, Indicator],
    *,
    source: str = "the recommendations file",
) -> tuple[list[Recommendation], list[dict[str, str]]]:
    """Apply an analyst's edits: suppress, edit (their values win), add. Unknown ids in
    ``edit``/``suppress`` and unknown evidence indicators are errors naming them.

    Returns the final recommendations (renumbered) and the suppressed ones with reasons,
    which the report lists so a suppression is visible to the board.
    """
    known = {r.id: r for r in recommendations}
    unknown = sorted((set(edits.suppress) | set(edits.edit)) - set(known))
    problems = [f"{'edit' if i in edits.edit else 'suppress'}: no recommendation with id {i!r} in this run" for i in unknown]
    for added in edits.add:
        if added.id in known:
            problems.append(f"add: id {added.id!r} is already used by a generated recommendation")
        if added.evidence and added.evidence.indicator not in indicators:
            problems.append(f"add[{added.id}].evidence.indicator: {added.evidence.indicator!r} was not recorded in this run")
    if problems:
        hint = f" (ids available: {', '.join(sorted(known))})" if unknown else ""
        raise RecommendationsError(f"Invalid recommendations in {source}:\n  " + "\n  ".join(problems) + hint)

    suppressed = [
        {"id": i, "text": known[i].text, "reason": edits.suppress_reasons.get(i, "suppressed by the analyst")}
        for i in edits.suppress
    ]
    final: list[Recommendation] = []
    for rec in recommendations:
        if rec.id in edits.suppress:
            continue
        change = edits.edit.get(rec.id)
        if change is not None:
            updates = {k: v for k, v in change.model_dump().items() if v is not None}
            merged = {**rec.to_dict(), **updates, "origin": f"{rec.origin}, edited by analyst"}
            _Fields.model_validate({k: merged[k] for k in _Fields.model_fields})
            rec = Recommendation(**merged)
        final.append(rec)
    for added in edits.add:
        indicator = indicators.get(added.evidence.indicator) if added.evidence else None
        final.append(
            Recommendation(
                id=added.id, number=0, text=" ".join(added.text.split()), finding=added.finding,
                indicator_key=indicator.key if indicator else None, further_evidence="",
                indicator_label=indicator.label if indicator else None,
                value=indicator.value if indicator else None, lower=indicator.lower if indicator else None,
                upper=indicator.upper if indicator else None, unit=indicator.unit if indicator else None,
                period=indicator.period if indicator else None, comparator=None, comparator_value=None,
                comparison=None, priority_strategy=added.priority_strategy, commitment=added.commitment,
                outcome=added.outcome, lead_partner=added.lead_partner, priority=added.priority,
                timescale=added.timescale, origin="analyst", source_kind=indicator.source_kind if indicator else None,
            )
        )
    final.sort(key=lambda r: (PRIORITY_ORDER[r.priority], r.number or 10_000, r.id))
    return [_renumber(r, i) for i, r in enumerate(final, start=1)], suppressed


def recommendations_frame(recommendations: Iterable[Recommendation]):
    """The published recommendations table (one row per recommendation)."""
    import pandas as pd

    rows = []
    for r in recommendations:
        rows.append(
            {
                "Number": r.number,
                "Recommendation": r.text,
                "Finding": r.finding,
                "Further evidence": r.further_evidence,
                "Indicator": r.indicator_label or "",
                "Indicator key": r.indicator_key or "",
                "Value": r.value,
                "Lower limit": r.lower,
                "Upper limit": r.upper,
                "Unit": {"%": "percentage"}.get(r.unit or "", r.unit or ""),
                "Period": r.period or "",
                "Comparator": r.comparator or "",
                "Comparator value": r.comparator_value,
                "Comparison": r.comparison or "",
                "Strategy priority": r.priority_strategy,
                "Local commitment (Box 6)": r.commitment,
                "Outcome": r.outcome,
                "Suggested lead partner": r.lead_partner,
                "Priority": r.priority,
                "Timescale": r.timescale,
                "Figures from": r.source_kind or "",
                "Recommendation id": r.id,
            }
        )
    return pd.DataFrame(rows)
