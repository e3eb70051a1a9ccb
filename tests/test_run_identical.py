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


def test_package_versions_are_normalised_away_and_nothing_else(tmp_path):
    """A fresh install resolves newer patch releases than the machine that wrote the manifests
    (CI once failed on pandas 3.1.1 -> 3.1.2 named in the methods text): versions must not
    count as a change, and the text around them must."""
    from run_manifest import normalised

    def report(pandas: str, seed: str) -> bytes:
        path = tmp_path / "report.html"
        path.write_text(
            f"<p>Analyses were run with neuroreview 0.1.0 (neuroreview 0.1.0, pandas {pandas}, "
            f"python 3.11.7). The seed was {seed}.</p>\n"
            '<section id="provenance"><p>x</p><dl class="settings">'
            f"<dt>pandas</dt><dd>{pandas}</dd></dl></section>",
            encoding="utf-8",
        )
        return normalised(path, {})

    assert report("3.1.1", "3") == report("3.1.2", "3")
    assert report("3.1.1", "3") != report("3.1.1", "4")
    assert b"pandas" not in report("3.1.1", "3")
