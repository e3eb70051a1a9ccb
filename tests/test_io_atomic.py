"""Write-then-rename: outputs appear whole or not at all, with ordinary file permissions."""

from __future__ import annotations

import os
import stat

import pytest

from neuroreview.io.atomic import atomic_paths, atomic_write_text


def test_written_file_has_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "sub" / "a.txt", "hello\n")
    finally:
        os.umask(old)
    assert path.read_text() == "hello\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.txt"]


def test_failure_keeps_every_old_file_and_leaves_no_temporaries(tmp_path):
    first, second = tmp_path / "one.csv", tmp_path / "two.csv"
    first.write_text("old one")
    second.write_text("old two")
    with pytest.raises(RuntimeError, match="disk full"), atomic_paths([first, second]) as temps:
        temps[0].write_text("new one")
        raise RuntimeError("disk full")
    assert first.read_text() == "old one" and second.read_text() == "old two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.csv", "two.csv"]


def test_success_replaces_all(tmp_path):
    targets = [tmp_path / "a", tmp_path / "b"]
    with atomic_paths(targets) as temps:
        for temp, text in zip(temps, ["A", "B"], strict=True):
            temp.write_text(text)
    assert [t.read_text() for t in targets] == ["A", "B"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]
