"""What every chapter notebook does first, in one call, so notebooks stay thin.

>>> ch = start_chapter("prevalence", "Prevalence and need",
...                    params_file=params_file, settings=settings, run_dir=run_dir)
>>> ch.params.area.name, ch.area.treatment_episodes, ch.recorder, ch.rules

The runner validates every input once and leaves the validated data in a private
folder outside ``outputs/`` (named in the kernel's environment, removed when the run ends;
see :mod:`needs_assessment.workspace`); a notebook opened by hand, without a run, loads and
validates the inputs itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from needs_assessment.params import RunParams, load_params, params_from_dict
from needs_assessment.results import ResultsRecorder

__all__ = ["Chapter", "start_chapter"]


@dataclass
class Chapter:
    key: str
    title: str
    params: RunParams
    area: Any  # needs_assessment.data.AreaData
    recorder: ResultsRecorder
    rules: Any  # needs_assessment.sdc.DisclosureRules
    run_dir: Path

    @property
    def confidence(self) -> float:
        return self.params.statistics.confidence_level

    @property
    def source_kind(self) -> str:
        """How figures from record-level inputs are labelled when recorded."""
        if self.params.data.synthetic is not None:
            return "synthetic"
        return "illustrative" if self.params.area.illustrative_records else "published"

    def data_notice(self):
        """A call-out saying plainly where this chapter's figures come from (shown at the
        top of every chapter, so no illustrative figure can be read as fact)."""
        from needs_assessment.display import callout, html_block

        if self.params.data.synthetic is not None:
            return callout(
                "Every figure in this chapter comes from the workbook's synthetic area. "
                "It demonstrates the method and describes no real place.",
                kind="illustrative",
                title="Synthetic data.",
            )
        if self.params.area.illustrative_records:
            return callout(
                "Figures labelled as published statistics come from official sources and are "
                "real. Figures from record-level data (treatment episodes, the lists used for "
                "capture–recapture, prison releases, service sites) are illustrative: they come "
                "from records generated for this area, not from a partner's extract, and must "
                "not be quoted as facts.",
                kind="illustrative",
                title="Published and illustrative figures.",
            )
        return html_block("")


def _load_area(params: RunParams):
    from needs_assessment.workspace import AREA_CACHE_ENV, load_area_cache

    cached = os.environ.get(AREA_CACHE_ENV)
    if cached and Path(cached).is_dir():
        return load_area_cache(Path(cached))  # validated by this run's own runner
    from needs_assessment.inputs import load_area

    return load_area(params)


def start_chapter(
    key: str,
    title: str,
    *,
    params_file: str | os.PathLike | None = None,
    settings: dict | None = None,
    run_dir: str | os.PathLike | None = None,
) -> Chapter:
    """Load params (injected ``settings`` win over ``params_file``), the validated area
    data, a results recorder for this chapter and the disclosure rules; set chart style."""
    from needs_assessment.display import setup_plotting
    from needs_assessment.sdc import DisclosureRules

    if settings:
        params = params_from_dict(settings, source_file=params_file)
    elif params_file:
        params = load_params(params_file)
    else:
        raise ValueError("start_chapter needs params_file or settings")
    run_path = Path(run_dir).resolve() if run_dir is not None else None
    area = _load_area(params)
    recorder = ResultsRecorder(run_path, key, title=title)
    rules = DisclosureRules(
        threshold=params.disclosure.threshold,
        publish_zeros=params.disclosure.publish_zeros,
        rounding_base=params.disclosure.rounding_base,
    )
    setup_plotting()
    return Chapter(
        key=key,
        title=title,
        params=params,
        area=area,
        recorder=recorder,
        rules=rules,
        run_dir=recorder.run_dir,
    )
