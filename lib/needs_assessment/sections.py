"""Report sections made from recorded results rather than from a chapter notebook, and the
published workbooks.

* Front (after the contents): the **executive summary** — headline figures, key findings
  and the top recommendations, all read from what the chapters recorded.
* Back (after the chapters): **methods and data sources**, **data quality and
  completeness**, and a **glossary**.
* ``tables.xlsx`` (every recorded table) and ``recommendations.xlsx`` to the government
  standard for releasing statistics in spreadsheets, with a CSV of each.

Each section builder takes the run folder and returns ``(heading, html)`` or ``None``.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

import pandas as pd
import yaml

from needs_assessment.findings import format_interval_text, format_value
from needs_assessment.params import RunParams
from needs_assessment.results import load_results, write_json_atomic

__all__ = ["back_sections", "front_sections", "publish_tables", "write_merged_results"]

SectionBuilder = Callable[[Path], "tuple[str, str] | None"]
TEMPLATES = resources.files("needs_assessment").joinpath("templates/report")

DATASET_DESCRIPTIONS = {
    "geography": "Small areas and their wards, districts and deprivation (IMD)",
    "boundaries": "Small-area boundaries",
    "population": "Population estimates by small area, sex and age",
    "characteristics": "Residents by protected characteristic",
    "treatment_episodes": "Treatment episodes (record level, never published)",
    "prison_releases": "Releases from prison with a treatment need (record level)",
    "deaths": "Deaths related to drug misuse and alcohol-specific deaths",
    "admissions": "Hospital admissions for drug- and alcohol-related conditions",
    "crime": "Police recorded crime (police.uk street-level files)",
    "comparators": "England and region comparator values (Fingertips layout)",
    "services": "Treatment service sites",
}

#: Headline indicators for the executive summary, in order (shown when recorded).
HEADLINES = (
    "prevalence.adults_in_treatment",
    "prevalence.ocu_estimate",
    "prevalence.ocu_unmet_need",
    "prevalence.alcohol_dependence_estimate",
    "prevalence.alcohol_unmet_need",
    "outcomes.drug_misuse_deaths_dsr",
    "outcomes.continuity_of_care",
)


def _e(text) -> str:
    return html.escape(str(text))


def _markdown(text: str) -> str:
    import mistune

    return mistune.html(text)


def _headline_rows(indicators) -> list[str]:
    rows = []
    for key in HEADLINES:
        item = indicators.get(key)
        if item is None or item.value is None:
            continue
        value = format_value(item.value, item.unit)
        interval = format_interval_text(item.lower, item.upper, item.unit)
        comparison = next((c for c in item.comparisons if c.value is not None), None)
        compared = (
            f"{_e(comparison.label)}: {_e(format_value(comparison.value, item.unit))}"
            + (f" ({_e(comparison.result)})" if comparison.result and comparison.result != "Not compared" else "")
            if comparison
            else ""
        )
        rows.append(
            f'<tr><th scope="row">{_e(item.label)}</th><td class="num">{_e(value)}</td>'
            f"<td>{_e(interval)}</td><td>{_e(item.period)}</td><td>{compared}</td>"
            f"<td>{_e(item.source_kind)}</td></tr>"
        )
    return rows


def _headline(findings: list[dict], n: int) -> list[dict]:
    """The summary's findings: one per indicator family first (see findings.headline_findings)."""
    from needs_assessment.findings import Finding, headline_findings

    chosen = headline_findings([Finding(**f) for f in findings], n)
    return [f.to_dict() for f in chosen]


def _executive_summary(params: RunParams, max_findings: int = 8, max_recommendations: int = 6) -> SectionBuilder:
    def build(run_dir: Path):
        results = load_results(run_dir)
        parts = [
            f"<p>This joint needs assessment describes drug and alcohol harm in {_e(params.area.name)} "
            f"over {_e(params.period.label)}: how many people need treatment and how many receive it, who is "
            "and is not reached, where harm is concentrated, how people get into treatment, and how the area "
            "compares with England on the National Combating Drugs Outcomes Framework.</p>"
        ]
        rows = _headline_rows(results["indicators"])
        if rows:
            parts.append(
                '<table class="data-table"><caption>Headline figures</caption><thead><tr>'
                '<th scope="col">Measure</th><th scope="col">Value</th><th scope="col">Interval</th>'
                '<th scope="col">Period</th><th scope="col">Benchmark</th><th scope="col">Figures from</th>'
                f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            )
        values = results["values"].get("findings", {})
        findings = values.get("findings", [])
        all_concerns = [f for f in findings if f.get("concern")]
        real = _headline([f for f in all_concerns if f.get("source_kind") != "illustrative"], max_findings)
        illustrative = _headline([f for f in all_concerns if f.get("source_kind") == "illustrative"], max_findings)
        if real:
            items = "".join(f"<li>{_e(f['sentence'])}</li>" for f in real)
            heading = "Key findings" if not illustrative else "Key findings from published statistics"
            parts.append(f"<h3>{heading}</h3><ol>{items}</ol>")
        if illustrative:
            items = "".join(f"<li>{_e(f['sentence'])}</li>" for f in illustrative)
            parts.append(
                "<h3>Illustrative findings (generated records, not facts about the area)</h3>"
                '<p class="callout callout-illustrative">These findings come from record-level data generated '
                "for this area to show what the assessment would report with the partners' own extracts. "
                "They must not be quoted as facts.</p>"
                f"<ol>{items}</ol>"
            )
        if len(all_concerns) > len(real) + len(illustrative):
            parts.append("<p>Further findings are listed in the findings and recommendations chapter.</p>")
        strengths = [f for f in findings if not f.get("concern") and f.get("result") == "Better"][:3]
        if strengths:
            items = "".join(f"<li>{_e(f['sentence'])}</li>" for f in strengths)
            parts.append(f"<h3>Strengths</h3><ul>{items}</ul>")
        recs = [r for r in values.get("recommendations", []) if r.get("priority") == "high"][:max_recommendations]
        if not recs:
            recs = values.get("recommendations", [])[:max_recommendations]
        if recs:
            rows = "".join(
                f'<tr><th scope="row">{r["number"]}</th><td>{_e(r["text"])}</td>'
                f"<td>{_e(r['commitment'])}</td><td>{_e(r['lead_partner'])}</td><td>{_e(r['timescale'])}</td></tr>"
                for r in recs
            )
            parts.append(
                '<h3>Top recommendations</h3><table class="data-table"><caption>Top recommendations '
                "(the full table is in the findings and recommendations chapter)</caption><thead><tr>"
                '<th scope="col">Number</th><th scope="col">Recommendation</th><th scope="col">Local commitment</th>'
                '<th scope="col">Suggested lead</th><th scope="col">Timescale</th></tr></thead>'
                f"<tbody>{rows}</tbody></table>"
            )
        if len(parts) == 1:
            return None
        return "Executive summary", "".join(parts)

    return build


def _methods_and_sources(params: RunParams) -> SectionBuilder:
    def build(run_dir: Path):
        rows = []
        for key, path in params.input_paths().items():
            name = key.removeprefix("data.files.")
            if name.startswith("linkable_lists."):
                desc = f"Linkable list for prevalence estimation: {name.split('.', 1)[1].replace('_', ' ')}"
            elif name == "recommendations":
                desc = "Analysts' edits to the recommendations"
            elif key.startswith("public_data."):
                from needs_assessment.public_data.fetch import describe

                desc = f"Published: {describe(key)}"
            else:
                desc = DATASET_DESCRIPTIONS.get(name, name)
            rows.append(f'<tr><th scope="row">{_e(desc)}</th><td>{_e(Path(path).name)}</td></tr>')
        public = ""
        if params.public_data_dir is not None:
            public = (
                f"<p>Published statistics were read from {_e(params.public_data_dir.name)}: ONS, MHCLG, NHS Digital "
                "and police.uk publications, used under the Open Government Licence v3.0. Contains public sector "
                "information licensed under the Open Government Licence v3.0; contains OS data © Crown copyright "
                "and database right.</p>"
            )
        body = (
            _markdown(TEMPLATES.joinpath("methods.md").read_text("utf-8"))
            + "<h3>Inputs of this run</h3>"
            + "<p>The run's manifest.json records the SHA-256 of each file, the params as run and the software "
            "versions.</p>"
            + public
            + '<table class="data-table"><caption>Inputs of this run</caption>'
            + '<thead><tr><th scope="col">Dataset</th><th scope="col">File</th></tr></thead>'
            + f"<tbody>{''.join(rows)}</tbody></table>"
        )
        return "Methods and data sources", body

    return build


def _data_quality(params: RunParams) -> SectionBuilder:
    def build(run_dir: Path):
        results = load_results(run_dir)
        parts = [
            "<p>What limits the figures in this report: data that were absent, notes from checking the inputs, "
            "how completely characteristics were recorded, and how many table cells were suppressed to protect "
            "confidentiality.</p>"
        ]
        inputs = results["values"].get("inputs", {})
        warnings = inputs.get("warnings", [])
        if warnings:
            parts.append("<h3>Notes from checking the inputs</h3><ul>" + "".join(f"<li>{_e(w)}</li>" for w in warnings) + "</ul>")
        absent = [n for n in results["notes"] if n.get("kind") == "absent"]
        if absent:
            chapters = results["chapters"]
            parts.append(
                "<h3>Sections without data</h3><ul>"
                + "".join(
                    f"<li><strong>{_e(chapters.get(n['chapter'], n['chapter']))}, {_e(n['section'])}:</strong> {_e(n['text'])}</li>"
                    for n in absent
                )
                + "</ul>"
            )
        completeness = [
            i for k, i in sorted(results["indicators"].items()) if k.startswith("people.recording_completeness.")
        ]
        if completeness:
            rows = "".join(
                f'<tr><th scope="row">{_e(i.label)}</th><td class="num">{_e(format_value(i.value, "%"))}</td></tr>'
                for i in completeness
            )
            parts.append(
                '<table class="data-table"><caption>Recording completeness in the treatment extract</caption>'
                '<thead><tr><th scope="col">Item</th><th scope="col">Recorded</th></tr></thead>'
                f"<tbody>{rows}</tbody></table>"
            )
        tables = results["tables"].values()
        suppressed = sum(t.suppressed_cells for t in tables)
        parts.append(
            f"<p>{len(results['tables'])} tables were published; {suppressed} cells were suppressed for "
            "confidentiality across them (shown as [c]).</p>"
        )
        return "Data quality and completeness", "".join(parts)

    return build


def _glossary(params: RunParams) -> SectionBuilder:
    def build(run_dir: Path):
        terms = yaml.safe_load(TEMPLATES.joinpath("glossary.yaml").read_text("utf-8"))
        items = "".join(f"<dt>{_e(t['term'])}</dt><dd>{_e(t['definition'])}</dd>" for t in terms)
        return "Glossary", f'<dl class="glossary">{items}</dl>'

    return build


def front_sections(params: RunParams) -> Sequence[SectionBuilder]:
    return [_executive_summary(params)]


def back_sections(params: RunParams) -> Sequence[SectionBuilder]:
    return [_methods_and_sources(params), _data_quality(params), _glossary(params)]


def write_merged_results(run_dir: Path) -> Path:
    """``results.json``: every chapter's indicators, notes and values in one file, which a
    later run names as ``previous_run`` to report change since this assessment."""
    results = load_results(run_dir)
    payload = {
        "chapters": results["chapters"],
        "indicators": [i.to_dict() for i in results["indicators"].values()],
        "tables": [t.to_dict() for t in results["tables"].values()],
        "notes": results["notes"],
    }
    path = run_dir / "results.json"
    write_json_atomic(path, payload)
    return path


def publish_tables(params: RunParams, run_dir: Path, ctx) -> list[Path]:
    """Write ``tables.xlsx`` from the recorded (already disclosure-controlled) tables and
    ``recommendations.xlsx``/``.csv`` from the recorded recommendations.

    The table CSVs were written by the notebooks when they recorded each table.
    """
    from needs_assessment.publish import CoverSheet, SpreadsheetTable, write_statistics_workbook

    results = load_results(run_dir)
    written: list[Path] = []
    tables = []
    recommendations_meta = None
    for meta in results["tables"].values():
        if meta.table_id == "recommendations":
            recommendations_meta = meta
            continue
        number = len(tables) + 1
        frame = pd.read_csv(run_dir / meta.csv, keep_default_na=False, na_values=[""])
        tables.append(
            SpreadsheetTable(
                sheet_name=f"Table_{number}",
                title=f"Table {number}: {meta.title}",
                frame=frame,
                units=meta.units,
                source=f"{meta.source} ({meta.source_kind} figures)",
                description=meta.description or None,
            )
        )
    summary = [
        f"Tables published with the joint needs assessment for {ctx.area_name}, {ctx.period_label}.",
        ctx.data_status,
        "Counts below the disclosure threshold, and any count or rate from which they could be worked out, "
        "are shown as [c].",
    ]
    if tables:
        cover = CoverSheet(
            title=f"{ctx.title}: {ctx.area_name}, tables",
            summary=summary,
            source="See the source line above each table and the report's methods and data sources section.",
            period=ctx.period_label,
            published=ctx.published,
            contact=ctx.contact or ctx.organisation,
        )
        path = run_dir / "tables.xlsx"
        write_statistics_workbook(path, cover=cover, tables=tables)
        written.append(path)
    if recommendations_meta is not None:
        frame = pd.read_csv(run_dir / recommendations_meta.csv, keep_default_na=False, na_values=[""])
        cover = CoverSheet(
            title=f"{ctx.title}: {ctx.area_name}, recommendations",
            summary=[
                f"Recommendations of the joint needs assessment for {ctx.area_name}, {ctx.period_label}, with the "
                "evidence behind each: the finding, indicator, value, interval and comparator as recorded by the "
                "report's chapters.",
                ctx.data_status,
            ],
            source="Generated by the workbook's recommendation rules from the report's findings, with analysts' edits.",
            period=ctx.period_label,
            published=ctx.published,
            contact=ctx.contact or ctx.organisation,
        )
        path = run_dir / "recommendations.xlsx"
        write_statistics_workbook(
            path,
            cover=cover,
            tables=[
                SpreadsheetTable(
                    sheet_name="Recommendations",
                    title=f"Recommendations, {ctx.area_name}, {ctx.period_label}",
                    frame=frame,
                    units="Text; evidence values in the unit stated in the Unit column",
                    source="Joint needs assessment workbook",
                )
            ],
        )
        csv_path = run_dir / "recommendations.csv"
        frame.to_csv(csv_path, index=False, encoding="utf-8")
        written += [path, csv_path]
    return written
