"""Input formats are declared once (reader, recognition, description) in io.dispatch.READERS."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuroreview.errors import InputError
from neuroreview.io import dispatch
from neuroreview.io.dispatch import READERS, InputFormat, Reader, detect_format


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("foci.txt", InputFormat.SLEUTH),
        ("dset.JSON", InputFormat.NIMARE),
        ("studies.tsv", InputFormat.TABLES),
        ("foci.csv", InputFormat.TABLES),
        # Recognised by name before the .tsv suffix rule could claim it.
        ("neurosynth_coordinates.tsv", InputFormat.NEUROSYNTH),
        ("Neurosynth_Metadata.tsv", InputFormat.NEUROSYNTH),
    ],
)
def test_each_file_goes_to_the_reader_that_recognises_it(name: str, expected: InputFormat):
    assert detect_format(Path(name)) is expected


def test_every_format_but_auto_has_one_reader_and_the_error_lists_them_all():
    assert set(READERS) == set(InputFormat) - {InputFormat.AUTO}
    with pytest.raises(InputError) as raised:
        detect_format(Path("data.xlsx"))
    assert str(raised.value) == (
        "data.xlsx: cannot tell the format from the file name; expected a Sleuth .txt, NiMARE "
        ".json, a .csv/.tsv table or Neurosynth coordinates/metadata files (or pass --format)"
    )


def test_a_format_declared_in_the_registry_is_detected_and_read(monkeypatch, tmp_path):
    from neuroreview.model import Study

    seen: list[list[Path]] = []

    def read(paths: list[Path]):
        seen.append(paths)
        return [(str(p), [Study(id=p.stem)], [p]) for p in paths]

    extra = Reader(
        InputFormat.SLEUTH, read, lambda p: p.suffix == ".foci", "a .foci file", by_name=True
    )
    monkeypatch.setattr(dispatch, "READERS", {**READERS, InputFormat.SLEUTH: extra})
    path = tmp_path / "one.foci"
    assert detect_format(path) is InputFormat.SLEUTH
    assert [s.id for s in dispatch.read_inputs([path])] == ["one"]
    assert seen == [[path]]
