"""Every input of an area, loaded and validated: the layer above ``data/`` and ``public_data/``.

:func:`load_area` is what the runner, the chapters, the CLI and the illustrative-record
generator call. It is :func:`needs_assessment.data.load_area` (the analyst's files checked
against the data contract, and the cross-dataset checks) with the public-data builder
:func:`needs_assessment.public_data.build.build_public` passed in, which a real area's
``public_data`` section needs. The builder uses the contract's loaders and schemas, so
the contract cannot import it without an import circle: the two meet here instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from needs_assessment.data import AreaData
from needs_assessment.data import load_area as load_contract_area
from needs_assessment.public_data.build import build_public

if TYPE_CHECKING:  # pragma: no cover
    from needs_assessment.params import RunParams

__all__ = ["load_area"]


def load_area(params: RunParams, *, today: dt.date | None = None,
              only: Iterable[str] | None = None) -> AreaData:
    """Load and validate every input of the area of ``params``: its own files and, for a real
    area, what is built from ``public_data_dir``.

    ``today`` and ``only`` are those of :func:`needs_assessment.data.load_area`. Raises
    :class:`~needs_assessment.data.InputDataError` listing every problem in every file.
    """
    return load_contract_area(params, today=today, only=only, build_public=build_public)
