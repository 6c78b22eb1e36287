"""Report sections made from recorded results rather than from a notebook, and the
published tables.

Front sections come after the contents (executive summary); back sections after the
chapters (methods and data sources, data quality, glossary). Each builder takes the
run folder and returns ``(heading, html)`` or ``None`` to leave the section out.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from needs_assessment.params import RunParams
from needs_assessment.results import load_results

__all__ = ["back_sections", "front_sections", "publish_tables"]

SectionBuilder = Callable[[Path], "tuple[str, str] | None"]

DATASET_DESCRIPTIONS = {
    "geography": "Small areas and their wards, districts and deprivation (IMD)",
    "boundaries": "Small-area boundaries",
    "population": "Population estimates by small area, sex and age",
    "treatment_episodes": "Treatment episodes (record level, never published)",
    "prison_releases": "Releases from prison with a treatment need (record level)",
    "deaths": "Deaths related to drug misuse and alcohol-specific deaths",
    "admissions": "Hospital admissions for drug- and alcohol-related conditions",
    "crime": "Police recorded crime (police.uk street-level files)",
    "comparators": "England and region comparator values (Fingertips layout)",
    "services": "Treatment service sites",
}


def _data_sources_section(params: RunParams) -> SectionBuilder:
    def build(run_dir: Path) -> tuple[str, str] | None:
        rows = []
        for key, path in params.input_paths().items():
            name = key.removeprefix("data.files.")
            if name.startswith("linkable_lists."):
                desc = f"Linkable list for prevalence estimation: {name.split('.', 1)[1]}"
            else:
                desc = DATASET_DESCRIPTIONS.get(name, name)
            rows.append(
                f"<tr><th scope=\"row\">{html.escape(desc)}</th>"
                f"<td>{html.escape(Path(path).name)}</td></tr>"
            )
        body = (
            "<p>The inputs of this run are listed below; the run's manifest.json records the "
            "SHA-256 of each file, the params as run and the software versions.</p>"
            '<table class="data-table"><caption>Inputs of this run</caption>'
            '<thead><tr><th scope="col">Dataset</th><th scope="col">File</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
        return "Data sources", body

    return build


def front_sections(params: RunParams) -> Sequence[SectionBuilder]:
    return []


def back_sections(params: RunParams) -> Sequence[SectionBuilder]:
    return [_data_sources_section(params)]


def publish_tables(params: RunParams, run_dir: Path, ctx) -> list[Path]:
    """Write ``tables.xlsx`` from the recorded (already disclosure-controlled) tables.

    The CSVs were written by the notebooks when they recorded each table.
    """
    results = load_results(run_dir)
    if not results["tables"]:
        return []
    from needs_assessment.publish import (
        CoverSheet,
        SpreadsheetTable,
        write_statistics_workbook,
    )

    tables = []
    for number, meta in enumerate(results["tables"].values(), start=1):
        frame = pd.read_csv(run_dir / meta.csv, keep_default_na=False, na_values=[""])
        tables.append(
            SpreadsheetTable(
                sheet_name=f"Table_{number}",
                title=f"Table {number}: {meta.title}",
                frame=frame,
                units=meta.units,
                source=meta.source,
                description=meta.description or None,
            )
        )
    cover = CoverSheet(
        title=f"{ctx.title}: {ctx.area_name}, tables",
        summary=[
            f"Tables published with the joint needs assessment for {ctx.area_name}, "
            f"{ctx.period_label}.",
            ctx.data_status,
            "Counts below the disclosure threshold, and any count or rate from which they "
            "could be worked out, are shown as [c].",
        ],
        source="See the source line above each table and the report's data sources section.",
        period=ctx.period_label,
        published=ctx.published,
        contact=ctx.contact or ctx.organisation,
    )
    path = run_dir / "tables.xlsx"
    write_statistics_workbook(path, cover=cover, tables=tables)
    return [path]
