"""The summary of a batch: the areas side by side on the outcomes framework's headline
indicators, published to ``outputs/batch/<batch-id>/``.

* ``batch.json``: every area's status, run folder, report, seconds and, for a failed
  area, the run's own error message;
* ``summary.html``: which areas ran, then one table per headline indicator (value,
  interval, count, denominator, England value and the area's comparison with England, as
  each area's report recorded them) and a funnel plot of the areas with limits adjusted
  for over-dispersion when the areas are over-dispersed
  (:func:`needs_assessment.stats.overdispersed_limits`), and a link to each area's report;
* ``summary.xlsx`` (+ one CSV per table): the same tables to the Analysis Function
  spreadsheet standard, as ``tables.xlsx`` is.

Every number is read from the areas' published ``results.json``: nothing is recomputed,
so the summary cannot disagree with the reports. Counts below the disclosure threshold
(and the values derived from them) are suppressed as in the reports
(:mod:`needs_assessment.sdc`). The folder is built hidden and moved into place in one
rename; a batch folder is never overwritten.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from needs_assessment.results import write_json_atomic

__all__ = [
    "HEADLINE_INDICATORS",
    "AreaStatus",
    "BatchOutcome",
    "batch_root",
    "headline_tables",
    "publish_batch_summary",
]

#: The outcomes framework's headline indicators the batch compares, by outcome (keys of
#: the indicators the chapters record; an area without one shows [x]).
HEADLINE_INDICATORS: tuple[str, ...] = (
    "prevalence.ocu_rate",                      # Reduce drug use
    "outcomes.drug_offences_rate",              # Reduce drug-related crime
    "outcomes.drug_misuse_deaths_dsr",          # Reduce drug-related deaths and harm
    "published_harms.drug_poisoning_deaths_rate",
    "outcomes.drug_poisoning_admissions",
    "outcomes.drug_offences_share",             # Reduce drug supply
    "prevalence.ocu_unmet_need",                # Increase engagement in treatment
    "outcomes.continuity_of_care",
    "outcomes.successful_completion.opiate",    # Improve drug recovery outcomes
    "outcomes.successful_completion.non_opiate",
    "outcomes.successful_completion.alcohol",
)

#: Unit -> multiplier of a crude rate or percentage (value = count / denominator x it).
_MULTIPLIERS = {"%": 100.0, "per 1,000": 1_000.0, "per 10,000": 10_000.0, "per 100,000": 100_000.0}

_COLUMNS = ["Area", "Value", "Lower limit", "Upper limit", "Count", "Denominator",
            "England value", "Compared with England"]


def batch_root(params_files: Sequence[Path], outputs_dir: str | os.PathLike | None) -> Path:
    """``<outputs>/batch``: the outputs folder given, else the first area's."""
    if outputs_dir:
        return Path(outputs_dir) / "batch"
    from needs_assessment.params import ParamsError, load_params

    for path in params_files:
        try:
            return load_params(path, check_files=False).outputs_dir / "batch"
        except ParamsError:
            continue
    return Path.cwd() / "outputs" / "batch"


@dataclass
class AreaStatus:
    """What happened to one area of a batch (one row of ``batch.json``)."""

    params_file: str
    status: str  # "succeeded" | "failed"
    area_name: str | None = None
    area_slug: str | None = None
    run_id: str | None = None
    run_dir: str | None = None
    report_html: str | None = None
    seconds: float | None = None
    exit_code: int = 0
    error: str | None = None
    failed_dir: str | None = None
    worker: str | None = None
    disclosure_threshold: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BatchOutcome:
    batch_id: str
    batch_dir: Path
    areas: list[AreaStatus]
    seconds: float
    scheduler: str
    workers: int
    summary_html: Path | None = None
    failures: list[AreaStatus] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class HeadlineTable:
    key: str
    label: str
    unit: str
    outcome: str | None
    frame: pd.DataFrame  # published (disclosure-controlled) rows, one per area
    raw: pd.DataFrame  # before disclosure control, for the funnel (not published)
    suppressed: int


def _england(indicator: dict[str, Any]) -> tuple[float | None, str | None]:
    for comparison in indicator.get("comparisons") or ():
        if str(comparison.get("label", "")).startswith("England"):
            return comparison.get("value"), comparison.get("result")
    return None, None


def _load_indicators(run_dir: Path) -> dict[str, dict[str, Any]]:
    data = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    return {item["key"]: item for item in data.get("indicators", [])}


def headline_tables(areas: Sequence[Any], rules: Any) -> list[HeadlineTable]:
    """One table per headline indicator any succeeded area recorded."""
    from needs_assessment import sdc

    recorded = {}
    for area in areas:
        if area.status == "succeeded" and area.run_dir:
            recorded[area.area_name or area.area_slug] = _load_indicators(Path(area.run_dir))
    tables = []
    spec = sdc.TableSpec(
        count_columns=["Count"],
        derived_columns={"Value": ["Count"], "Lower limit": ["Count"], "Upper limit": ["Count"]},
        assume_totals_published=False,  # each row is a different area, not parts of a total
        label_columns=["Area"],
    )
    for key in HEADLINE_INDICATORS:
        rows, first = [], None
        for name, indicators in recorded.items():
            item = indicators.get(key)
            if item is None:
                continue
            first = first or item
            england, result = _england(item)
            rows.append({
                "Area": name, "Value": item.get("value"), "Lower limit": item.get("lower"),
                "Upper limit": item.get("upper"), "Count": item.get("count"),
                "Denominator": item.get("denominator"), "England value": england,
                "Compared with England": result or "Not compared",
            })
        if not rows:
            continue
        raw = pd.DataFrame(rows, columns=_COLUMNS)
        protected = sdc.protect_table(raw, spec, rules)
        sdc.check_publishable(protected.frame, spec, rules, table_name=key, mask=protected.mask)
        published = sdc.to_published(protected.frame, protected.mask, rules)
        tables.append(HeadlineTable(
            key=key, label=first["label"], unit=first.get("unit", ""), outcome=first.get("outcome"),
            frame=published, raw=raw, suppressed=int(protected.mask.to_numpy().sum()),
        ))
    return tables


def _funnel(table: HeadlineTable):
    """A funnel plot of the areas for a crude rate or percentage recorded with its count
    and denominator; ``None`` (with the reason) when the indicator does not allow one."""
    from needs_assessment.charts.funnel import overdispersed_funnel_chart
    from needs_assessment.stats import overdispersed_limits

    multiplier = _MULTIPLIERS.get(table.unit)
    raw = table.raw.dropna(subset=["Value", "Count", "Denominator"])
    raw = raw[raw["Denominator"] > 0]
    if multiplier is None:
        return None, f"No funnel plot: {table.unit!r} is not a rate or percentage."
    if len(raw) < 3:
        return None, "No funnel plot: it needs at least three areas with a count and denominator."
    crude = raw["Count"] / raw["Denominator"] * multiplier
    if not all(math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9) for a, b in zip(crude, raw["Value"], strict=True)):
        return None, ("No funnel plot: this indicator is age-standardised or modelled, so its value is not "
                      "its count over its denominator; compare the intervals in the table instead.")
    statistic = "proportion" if table.unit == "%" else "rate"
    england = table.raw["England value"].dropna().unique()
    target = float(england[0]) if len(england) == 1 else None
    result = overdispersed_limits(
        raw["Count"].to_numpy(float), raw["Denominator"].to_numpy(float), statistic=statistic,
        target=target, multiplier=multiplier,
    )
    fig, alt = overdispersed_funnel_chart(
        result, title=table.label, xlabel="Denominator", ylabel=f"{table.label} ({table.unit})",
        names=list(raw["Area"]), label="all" if len(raw) <= 12 else "outside",
        target_label="England" if target is not None else "Average of the areas",
    )
    return (fig, alt, result.method_note), None


def _status_frame(areas: Sequence[Any], batch_dir: Path) -> pd.DataFrame:
    rows = []
    for area in areas:
        rows.append({
            "Area": area.area_name or area.area_slug or Path(area.params_file).stem,
            "Params file": area.params_file,
            "Status": "published" if area.status == "succeeded" else "failed",
            "Run": area.run_id or "",
            "Seconds": area.seconds,
            "Error": " ".join((area.error or "").split()) or "[z]",
        })
    return pd.DataFrame(rows)


def _link(target: str | None, batch_dir: Path) -> str:
    return os.path.relpath(target, batch_dir) if target else ""


def _summary_html(areas, tables, figures, batch_id, started, seconds, scheduler, batch_dir) -> str:
    from needs_assessment.display import figure as figure_block
    from needs_assessment.display import table as table_block
    from needs_assessment.report import CSS_PATH

    e = html.escape
    ok = [a for a in areas if a.status == "succeeded"]
    failed = [a for a in areas if a.status != "succeeded"]
    parts = [
        f"<h1>Joint needs assessments: batch {e(batch_id)}</h1>",
        f"<p>{len(areas)} areas: {len(ok)} published, {len(failed)} failed. Run on {e(scheduler)}, "
        f"started {e(started.isoformat(timespec='seconds'))}, {seconds:,.0f} seconds in all.</p>",
        "<p>Each area's figures are those its own report published (its <code>results.json</code>), with "
        "the intervals and England benchmarks recorded there. Counts below the disclosure threshold, and "
        "values worked out from them, are shown as [c]; [x] means not available.</p>",
        "<h2 id='areas'>Areas</h2><table class='data-table'><caption>Status of each area in the batch"
        "</caption><thead><tr><th scope='col'>Area</th><th scope='col'>Status</th>"
        "<th scope='col'>Seconds</th><th scope='col'>Report or error</th></tr></thead><tbody>",
    ]
    for area in areas:
        name = e(area.area_name or area.area_slug or Path(area.params_file).stem)
        if area.status == "succeeded":
            link = _link(area.report_html, batch_dir)
            detail = f"<a href='{e(link)}'>report for {name}</a>"
        else:
            lines = [line.strip() for line in (area.error or "failed").strip().splitlines() if line.strip()]
            detail = "<br/>".join(e(line) for line in lines[:12])
        parts.append(f"<tr><th scope='row'>{name}</th><td>{'published' if area.status == 'succeeded' else 'FAILED'}"
                     f"</td><td class='num'>{area.seconds or 0:,.0f}</td><td>{detail}</td></tr>")
    parts.append("</tbody></table>")
    for table in tables:
        parts.append(f"<h2 id='{e(table.key)}'>{e(table.label)}</h2>")
        if table.outcome:
            parts.append(f"<p>Outcome: {e(table.outcome)}. Unit: {e(table.unit)}.</p>")
        parts.append(str(table_block(
            table.frame, caption=f"{table.label} ({table.unit}), by area", row_header="Area",
            table_id=f"table-{table.key}")))
        made = figures.get(table.key)
        if made and made[0] is not None:
            fig, alt, note = made[0]
            parts.append(str(figure_block(fig, alt=alt, caption=f"{table.label}: funnel plot of the areas. {note}")))
        elif made:
            parts.append(f"<p class='table-note'>{e(made[1])}</p>")
    css = CSS_PATH.read_text(encoding="utf-8")
    return (
        "<!DOCTYPE html>\n<html lang='en-GB'><head><meta charset='utf-8'/>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'/>"
        f"<title>Joint needs assessments: batch {e(batch_id)}</title><style>{css}</style></head>"
        "<body><main id='main'>" + "".join(parts) + "</main></body></html>"
    )


def _write_workbook(path: Path, areas, tables, batch_dir, batch_id, started) -> None:
    from needs_assessment.publish import CoverSheet, SpreadsheetTable, write_statistics_workbook

    sheets = [SpreadsheetTable(
        sheet_name="Areas", title=f"Areas in batch {batch_id} and their status",
        frame=_status_frame(areas, batch_dir), units="Seconds of wall time",
        source="Joint needs assessment workbook, batch run",
    )]
    for number, table in enumerate(tables, start=1):
        sheets.append(SpreadsheetTable(
            sheet_name=f"Table_{number}", title=f"Table {number}: {table.label}, by area",
            frame=table.frame, units=table.unit,
            source="Each area's published report (results.json); England values as recorded there",
            description=f"Outcome: {table.outcome}" if table.outcome else None,
        ))
    cover = CoverSheet(
        title=f"Joint needs assessments: batch {batch_id}",
        summary=[
            "The areas of one batch side by side on the headline indicators of the National Combating "
            "Drugs Outcomes Framework, as each area's report published them.",
            "Counts below the disclosure threshold, and values worked out from them, are shown as [c].",
        ],
        source="The areas' published reports (results.json).",
        published=started.date(),
    )
    write_statistics_workbook(path, cover=cover, tables=sheets)


def publish_batch_summary(
    areas: Sequence[Any],
    *,
    root: Path,
    started: dt.datetime,
    seconds: float,
    scheduler: str,
    workers: int,
    batch_id: str | None = None,
) -> BatchOutcome:
    """Write ``batch.json``, ``summary.html`` and ``summary.xlsx`` into a new
    ``<root>/<batch-id>/`` (built hidden, moved into place in one rename)."""
    import shutil

    from needs_assessment.display import setup_plotting
    from needs_assessment.sdc import DisclosureRules

    root.mkdir(parents=True, exist_ok=True)
    batch_id = batch_id or started.strftime("%Y%m%d-%H%M%S")
    base, n = batch_id, 2
    while (root / batch_id).exists():
        batch_id = f"{base}-{n}"
        n += 1
    final = root / batch_id
    build = root / f".building-{batch_id}"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir()
    try:
        write_json_atomic(build / "batch.json", {
            "batch_id": batch_id,
            "started": started.isoformat(timespec="seconds"),
            "seconds": seconds,
            "scheduler": scheduler,
            "workers": workers,
            "succeeded": sum(a.status == "succeeded" for a in areas),
            "failed": sum(a.status != "succeeded" for a in areas),
            "areas": [
                {**a.to_dict(), "report_link": _link(a.report_html, final)} for a in areas
            ],
        })
        # The most protective threshold of any area in the batch applies to the comparison.
        thresholds = [a.disclosure_threshold for a in areas if a.disclosure_threshold]
        rules = DisclosureRules(threshold=max(thresholds, default=5))
        tables = headline_tables(areas, rules)
        setup_plotting()
        figures = {t.key: _funnel(t) for t in tables}
        (build / "summary.html").write_text(
            _summary_html(areas, tables, figures, batch_id, started, seconds, scheduler, final),
            encoding="utf-8",
        )
        _write_workbook(build / "summary.xlsx", areas, tables, final, batch_id, started)
        csv_dir = build / "tables"
        csv_dir.mkdir()
        for table in tables:
            table.frame.to_csv(csv_dir / f"{table.key}.csv", index=False, encoding="utf-8")
        os.replace(build, final)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return BatchOutcome(batch_id=batch_id, batch_dir=final, areas=list(areas), seconds=seconds,
                        scheduler=scheduler, workers=workers, summary_html=final / "summary.html")
