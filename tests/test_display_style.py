"""The report's chart style is seaborn's theme, written out so kernels need not import
seaborn: the settings must stay exactly what seaborn makes."""

from __future__ import annotations

import matplotlib as mpl

from needs_assessment.display import OKABE_ITO, RASTER_DPI, REPORT_RC, setup_plotting


def _seaborn_theme() -> dict:
    import seaborn as sns

    with mpl.rc_context():
        mpl.rcdefaults()
        sns.set_theme(
            context="notebook", style="whitegrid", palette=list(OKABE_ITO), font_scale=1.0,
            rc={"figure.dpi": 110, "savefig.dpi": RASTER_DPI, "axes.titleweight": "bold",
                "axes.titlesize": 12, "axes.labelsize": 11, "legend.frameon": False,
                "figure.figsize": (7.5, 4.2)},
        )
        return dict(mpl.rcParams)


def _ours() -> dict:
    with mpl.rc_context():
        mpl.rcdefaults()
        setup_plotting()
        return dict(mpl.rcParams)


def test_style_equals_seaborn_whitegrid_theme():
    theirs, ours = _seaborn_theme(), _ours()
    differ = {k for k in theirs if theirs[k] != ours[k]}
    # The one deliberate difference: the default image colour map (cividis, not rocket).
    assert differ == {"image.cmap"}
    assert ours["image.cmap"] == "cividis"


def test_every_written_setting_is_applied():
    ours = _ours()
    for key, value in REPORT_RC.items():
        assert ours[key] == mpl.rcParams.validate[key](value), key
