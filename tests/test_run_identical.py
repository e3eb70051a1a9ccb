"""The run folder, file by file, is what it was before the pipeline was rebuilt.

``tests/data/manifests`` holds normalised hashes of every file of two runs (the built-in corpus
and a user corpus), written by ``tools/update_run_manifests.py`` from the code before the
refactoring; timings, versions and the store's timestamp are normalised away
(``run_manifest.py``). A file that differs is named, with the files missing or added.
"""

from __future__ import annotations

import json

import pytest

from run_manifest import MANIFESTS, RUNS, run_and_hash


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RUNS))
def test_run_folder_is_unchanged_file_by_file(name, tmp_path):
    expected = json.loads((MANIFESTS / f"{name}.json").read_text(encoding="utf-8"))
    found = run_and_hash(name, tmp_path)
    assert sorted(set(expected) - set(found)) == [], "files no longer written"
    assert sorted(set(found) - set(expected)) == [], "files newly written"
    changed = sorted(path for path in expected if expected[path] != found[path])
    assert changed == []
