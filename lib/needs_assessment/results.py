"""Recording results explicitly, so later notebooks and the report never scrape outputs.

Each notebook makes one :class:`ResultsRecorder` for its chapter and records

* **indicators** — a headline number with its interval, unit, period, comparator and
  where it came from (published statistic or illustrative record-level data); findings and
  recommendations are built from these, and tests check the report against them;
* **tables** — disclosure-controlled tables for ``tables.xlsx`` and the CSVs; a table is
  written only after :mod:`needs_assessment.sdc` has protected it and its publication
  check has passed;
* **notes** — e.g. that a section had no data for this area.

Everything lands in ``<run_dir>/results/<chapter>.json`` and ``<run_dir>/tables/``. The
files are written atomically (temporary file, then rename) so a crash never leaves a
half-written result. ``scrapbook`` would also do this, but it adds ~3 s to every kernel
start here and stores values inside notebooks, whereas the report and the spreadsheet
builder want plain files; see the developers' guide.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

__all__ = [
    "Comparison",
    "Indicator",
    "RecordedTable",
    "ResultsRecorder",
    "load_results",
    "write_json_atomic",
]

SourceKind = Literal["published", "illustrative", "synthetic", "derived"]


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/NA become None, numpy scalars become Python numbers."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON to ``path`` via a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(_clean(payload), handle, indent=2, ensure_ascii=False, sort_keys=False)
            handle.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; published files are world-readable
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Comparison:
    """The benchmark an indicator is compared with, as Fingertips shows it."""

    label: str  # e.g. "England", "Anyshire"
    value: float | None
    lower: float | None = None
    upper: float | None = None
    result: str | None = None  # e.g. "Worse", "Similar", "Higher"
    method: str | None = None  # e.g. "95% CI of local value vs benchmark value"


@dataclass(frozen=True)
class Indicator:
    """One recorded headline number."""

    key: str
    chapter: str
    label: str
    value: float | None
    unit: str
    period: str
    area: str
    lower: float | None = None
    upper: float | None = None
    confidence: float | None = None
    count: float | None = None
    denominator: float | None = None
    comparisons: tuple[Comparison, ...] = ()
    polarity: Literal["low_is_good", "high_is_good", "no_judgement"] = "no_judgement"
    source_kind: SourceKind = "illustrative"
    source: str = ""
    outcome: str | None = None  # National Combating Drugs Outcomes Framework outcome
    tags: Mapping[str, str] = field(default_factory=dict)
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _clean(asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Indicator:
        data = dict(data)
        data["comparisons"] = tuple(Comparison(**c) for c in data.get("comparisons") or ())
        data["tags"] = dict(data.get("tags") or {})
        return cls(**data)


@dataclass(frozen=True)
class RecordedTable:
    """Metadata of a published table; its data is in ``tables/<table_id>.csv``."""

    table_id: str
    chapter: str
    title: str
    units: str
    source: str
    source_kind: SourceKind
    count_columns: tuple[str, ...]
    description: str = ""
    notes: tuple[str, ...] = ()
    csv: str = ""
    suppressed_cells: int = 0

    def to_dict(self) -> dict[str, Any]:
        return _clean(asdict(self))


class ResultsRecorder:
    """Collects one chapter's results and writes them under ``run_dir``.

    ``run_dir`` is the run folder the runner passes to the notebook; when a notebook is
    run by hand without one, results go to a scratch folder so nothing published is
    touched.
    """

    def __init__(self, run_dir: str | os.PathLike | None, chapter: str, *, title: str = ""):
        if run_dir is None:
            run_dir = Path(tempfile.mkdtemp(prefix="needs-assessment-scratch-"))
        self.run_dir = Path(run_dir)
        self.chapter = chapter
        self.title = title
        self.indicators: dict[str, Indicator] = {}
        self.tables: dict[str, RecordedTable] = {}
        self.notes: list[dict[str, str]] = []
        self.values: dict[str, Any] = {}
        self._batch_depth = 0
        self._unsaved = False

    @contextlib.contextmanager
    def batch(self) -> Iterator[ResultsRecorder]:
        """Record many results and write the chapter's file once, when the block ends.

        Every call otherwise rewrites the whole file, so recording one indicator per
        district or ward (300 at national scale, several measures each) would cost time
        growing with the square of their number. The file is written when the outermost
        block ends, also when it ends with an error, so what was recorded is kept.
        """
        self._batch_depth += 1
        try:
            yield self
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0 and self._unsaved:
                self._save()

    # ------------------------------------------------------------ indicators
    def indicator(self, key: str, **fields: Any) -> Indicator:
        """Record a headline number; ``key`` must be unique within the run."""
        if key in self.indicators:
            raise ValueError(f"indicator {key!r} recorded twice in chapter {self.chapter!r}")
        comparisons = tuple(
            c if isinstance(c, Comparison) else Comparison(**c)
            for c in fields.pop("comparisons", ()) or ()
        )
        item = Indicator(key=key, chapter=self.chapter, comparisons=comparisons, **fields)
        self.indicators[key] = item
        self._save()
        return item

    def value(self, key: str, value: Any) -> None:
        """Record a plain value (a count, a list of names) that the report needs."""
        self.values[key] = _clean(value)
        self._save()

    def note(self, section: str, text: str, *, kind: str = "info") -> None:
        """Record a note, e.g. kind='absent' when a section has no data for this area."""
        self.notes.append({"section": section, "text": text, "kind": kind})
        self._save()

    # ---------------------------------------------------------------- tables
    def table(
        self,
        frame: pd.DataFrame,
        *,
        table_id: str,
        title: str,
        spec: Any,
        rules: Any,
        units: str,
        source: str,
        source_kind: SourceKind = "illustrative",
        description: str = "",
        notes: Sequence[str] = (),
    ) -> pd.DataFrame:
        """Protect ``frame`` with disclosure control, check it, write it, return what is published.

        The returned frame has suppressed cells replaced by the marker (``[c]``), exactly as
        written to ``tables/<table_id>.csv``; display it rather than ``frame``. ``spec=None``
        declares a table with no counts of people or events (nothing to protect).
        """
        from needs_assessment import sdc

        if table_id in self.tables:
            raise ValueError(f"table {table_id!r} recorded twice in chapter {self.chapter!r}")
        if spec is None:
            # A table with no counts of people or events (e.g. recommendations text):
            # nothing to suppress, and it is recorded with no count columns.
            published = frame.reset_index(drop=True)
            suppressed = 0
        else:
            protected = sdc.protect_table(frame, spec, rules)
            sdc.check_publishable(protected.frame, spec, rules, table_name=table_id, mask=protected.mask)
            published = sdc.to_published(protected.frame, protected.mask, rules)
            suppressed = int(protected.mask.to_numpy().sum())
        tables_dir = self.run_dir / "tables"
        tables_dir.mkdir(parents=True, exist_ok=True)
        csv_path = tables_dir / f"{table_id}.csv"
        fd, tmp = tempfile.mkstemp(prefix=f".{csv_path.name}.", dir=tables_dir)
        os.close(fd)
        try:
            published.to_csv(tmp, index=False, encoding="utf-8")
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; published files are world-readable
            os.replace(tmp, csv_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.tables[table_id] = RecordedTable(
            table_id=table_id,
            chapter=self.chapter,
            title=title,
            units=units,
            source=source,
            source_kind=source_kind,
            count_columns=tuple(spec.count_columns) if spec is not None else (),
            description=description,
            notes=tuple(notes),
            csv=f"tables/{csv_path.name}",
            suppressed_cells=suppressed,
        )
        self._save()
        return published

    # ------------------------------------------------------------------ I/O
    @property
    def path(self) -> Path:
        return self.run_dir / "results" / f"{self.chapter}.json"

    def _save(self) -> None:
        if self._batch_depth:
            self._unsaved = True  # written when the outermost batch() block ends
            return
        self._unsaved = False
        write_json_atomic(
            self.path,
            {
                "chapter": self.chapter,
                "title": self.title,
                "indicators": [i.to_dict() for i in self.indicators.values()],
                "tables": [t.to_dict() for t in self.tables.values()],
                "notes": self.notes,
                "values": self.values,
            },
        )


def load_results(run_dir: str | os.PathLike) -> dict[str, Any]:
    """Read every chapter's results in a run folder.

    Returns ``{"indicators": {key: Indicator}, "tables": {id: RecordedTable},
    "notes": [...], "values": {chapter: {...}}, "chapters": {chapter: title}}``.
    """
    run_dir = Path(run_dir)
    merged: dict[str, Any] = {
        "indicators": {},
        "tables": {},
        "notes": [],
        "values": {},
        "chapters": {},
    }
    results_dir = run_dir / "results"
    if not results_dir.is_dir():
        return merged
    for path in sorted(results_dir.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        chapter = data["chapter"]
        merged["chapters"][chapter] = data.get("title", "")
        for item in data.get("indicators", []):
            indicator = Indicator.from_dict(item)
            if indicator.key in merged["indicators"]:
                raise ValueError(f"indicator {indicator.key!r} recorded by two chapters")
            merged["indicators"][indicator.key] = indicator
        for item in data.get("tables", []):
            item = dict(item)
            item["count_columns"] = tuple(item.get("count_columns") or ())
            item["notes"] = tuple(item.get("notes") or ())
            merged["tables"][item["table_id"]] = RecordedTable(**item)
        merged["notes"].extend({**n, "chapter": chapter} for n in data.get("notes", []))
        merged["values"][chapter] = data.get("values", {})
    return merged
