"""Two tiny chapter notebooks for tests of the runner's machinery (parallel execution,
crash safety), so those tests do not pay for the full assessment.

They follow the house rules (a parameters cell, ``start_chapter``, results recorded) and
react to environment variables the tests set:

* ``TINY_MARKER_DIR``: each notebook writes ``<key>.pid`` there (its kernel's pid) once
  it is running;
* ``TINY_SLEEP``: seconds to sleep after that (so a test can kill the run mid-notebook);
* ``TINY_FAIL``: the key of a notebook that raises;
* ``TINY_CORRUPT``: a file the notebook appends a broken row to (an input changing mid-run).
"""

from __future__ import annotations

from pathlib import Path

import nbformat

KEYS = ("tiny_one", "tiny_two")


def _notebook(key: str, title: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"name": "needs-assessment", "language": "python", "display_name": "Python"},
        "language_info": {"name": "python"},
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {title}\n\nA chapter used by the runner's tests."),
        nbformat.v4.new_code_cell(
            'params_file = "../params/default.yaml"\nrun_dir = None\nsettings = None',
            metadata={"tags": ["parameters"]},
        ),
        nbformat.v4.new_code_cell(
            "import os, time, pathlib\n"
            "from IPython.display import display\n"
            "from needs_assessment.display import markdown\n"
            "from needs_assessment.notebook import start_chapter\n"
            f'ch = start_chapter("{key}", "{title}", params_file=params_file, settings=settings, run_dir=run_dir)\n'
            'marker_dir = os.environ.get("TINY_MARKER_DIR")\n'
            "if marker_dir:\n"
            f'    pathlib.Path(marker_dir, "{key}.pid").write_text(str(os.getpid()))\n'
            'time.sleep(float(os.environ.get("TINY_SLEEP", "0")))\n'
            'corrupt = os.environ.get("TINY_CORRUPT")\n'
            f'if corrupt and "{key}" == "tiny_one":\n'
            "    with open(corrupt, 'a', encoding='utf-8') as handle:\n"
            "        handle.write('not,a,valid,row\\n')\n"
            f'if os.environ.get("TINY_FAIL") == "{key}":\n'
            f'    raise RuntimeError("planted failure in {key}")'
        ),
        nbformat.v4.new_code_cell(
            "episodes = len(ch.area.treatment_episodes)\n"
            'ch.recorder.value("episodes", episodes)\n'
            'ch.recorder.value("kernel_folder", pathlib.Path.cwd().name)\n'
            'display(markdown(f"The area has {episodes:,} treatment episodes."))'
        ),
    ]
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index}"
    return nb


def write_tiny_chapters(folder: Path) -> list[str]:
    """Write the two notebooks into ``folder``; return their file names."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for number, key in enumerate(KEYS, start=1):
        name = f"{number:02d}_{key}.ipynb"
        nbformat.write(_notebook(key, key.replace("_", " ").capitalize()), folder / name)
        names.append(name)
    return names
