"""SHA-256 of what a run publishes as numbers (``results.json`` and ``tables/*.csv``), so a
change meant to be about speed, layout or robustness can prove it changed no number.

    .venv/bin/python tests/published_digests.py RUN_DIR > tests/data/published_digests_default.json

Regenerate the stored file only when a change is *meant* to change published numbers, and
say so in the commit. ``tests/test_pipeline.py`` compares the default run with it.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path


def published_digests(run_dir: Path) -> dict[str, str]:
    files = [run_dir / "results.json", *sorted((run_dir / "tables").glob("*.csv"))]
    return {str(p.relative_to(run_dir)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


if __name__ == "__main__":
    print(json.dumps(published_digests(Path(sys.argv[1])), indent=1))
