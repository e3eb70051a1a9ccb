"""Write ``tests/data/manifests/*.json``: the normalised hashes of the runs the tests pin.

Run it only when a change to a run's output is intended, and say why in the commit: the
manifests are how a refactoring proves it changed no number. ``python tools/update_run_manifests.py``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from run_manifest import MANIFESTS, RUNS, run_and_hash  # noqa: E402


def main() -> None:
    MANIFESTS.mkdir(parents=True, exist_ok=True)
    for name in RUNS:
        with tempfile.TemporaryDirectory() as folder:
            hashes = run_and_hash(name, Path(folder))
        target = MANIFESTS / f"{name}.json"
        target.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"{target}: {len(hashes)} files")


if __name__ == "__main__":
    main()
