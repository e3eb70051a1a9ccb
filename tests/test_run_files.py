"""RunFiles: a run's files written whole and read back from memory, a folder's from disk."""

from __future__ import annotations

from pathlib import Path

import nibabel
import numpy as np
import pytest

from neuroreview.errors import InputError
from neuroreview.io.maps import cluster_volume_image
from neuroreview.io.run_files import RunFiles
from neuroreview.space import MNI152_2MM


def test_what_a_run_wrote_is_read_from_memory_not_from_disk(tmp_path: Path) -> None:
    files = RunFiles(tmp_path)
    path = files.write_text("regions/votes.tsv", "region\tn\nsgacc\t3\n")
    assert path.read_text() == "region\tn\nsgacc\t3\n"
    path.write_text("region\tn\nchanged on disk\t9\n")
    table = files.table("regions/votes.tsv")
    assert (table.path, table.columns, table.rows) == (
        "regions/votes.tsv",
        ["region", "n"],
        [["sgacc", "3"]],
    )
    # A folder read afresh sees the disk.
    assert RunFiles(tmp_path).table("regions/votes.tsv").rows == [["changed on disk", "9"]]


def test_tables_keep_quoted_cells_and_ragged_rows_name_the_file_and_line(tmp_path: Path) -> None:
    files = RunFiles(tmp_path)
    files.write_texts({"a.tsv": 'x\ty\r\n"two\nlines"\t1\r\n', "b.tsv": "x\ty\n1\n"})
    assert files.table("a.tsv").rows == [["two\nlines", "1"]]
    with pytest.raises(InputError) as raised:
        RunFiles(tmp_path).table("b.tsv")
    assert str(raised.value) == f"{tmp_path / 'b.tsv'}:2: 1 cells, the header has 2"
    with pytest.raises(InputError, match="not found; give a folder written by `neuroreview run`"):
        files.table("c.tsv")
    (tmp_path / "d.json").write_text("{")
    with pytest.raises(InputError, match="d.json: not valid JSON"):
        files.json("d.json")


def test_kept_images_are_the_written_ones_and_others_load_from_disk(tmp_path: Path) -> None:
    volume = np.zeros(MNI152_2MM.shape, dtype=np.int16)
    volume[40:43, 50:52, 30] = 2
    image = cluster_volume_image(volume, MNI152_2MM)
    files = RunFiles(tmp_path)
    files.write_image("ale/clusters.nii.gz", image, keep=True)
    files.write_image("ale/other.nii.gz", image)
    assert files.image("ale/clusters.nii.gz") is image
    loaded = files.image("ale/other.nii.gz")
    assert isinstance(loaded, nibabel.Nifti1Image)
    assert np.array_equal(np.asarray(loaded.dataobj), volume)
    assert (tmp_path / "ale/clusters.nii.gz").read_bytes() == (
        tmp_path / "ale/other.nii.gz"
    ).read_bytes()
    (tmp_path / "bad.nii.gz").write_bytes(b"not an image")
    with pytest.raises(InputError, match="bad.nii.gz: cannot read the image"):
        files.image("bad.nii.gz")


def test_writing_several_files_is_all_or_nothing(tmp_path: Path, monkeypatch) -> None:
    files = RunFiles(tmp_path)
    files.write_texts({"corpus/studies.tsv": "old\n"})
    real = Path.write_text
    calls = []

    def failing(self, *args, **kwargs):
        calls.append(self)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", failing)
    with pytest.raises(OSError, match="disk full"):
        files.write_texts({"corpus/studies.tsv": "new\n", "corpus/foci.tsv": "new\n"})
    monkeypatch.undo()
    assert (tmp_path / "corpus/studies.tsv").read_text() == "old\n"
    assert sorted(p.name for p in (tmp_path / "corpus").iterdir()) == ["studies.tsv"]
    assert files.text("corpus/studies.tsv") == "old\n"
