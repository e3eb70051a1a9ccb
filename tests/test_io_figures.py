"""Figures are the same bytes whatever another library did to matplotlib's global defaults."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from neuroreview.io.figures import save_figure  # noqa: E402


def _figure():
    figure, axes = plt.subplots(figsize=(3, 2))
    axes.plot([0, 1, 2], [2, 0, 1])
    axes.set_title("forest")
    return figure


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_global_savefig_defaults_do_not_change_the_bytes(tmp_path, suffix):
    figure = _figure()
    plain = save_figure(figure, tmp_path / f"plain{suffix}").read_bytes()
    # What importing NiMARE does to the process (it sets these for its own plots).
    with matplotlib.rc_context({"savefig.bbox": "tight", "savefig.dpi": 100.0}):
        changed = save_figure(figure, tmp_path / f"changed{suffix}").read_bytes()
    plt.close(figure)
    assert changed == plain
    assert save_figure(_figure(), tmp_path / f"again{suffix}").read_bytes() == plain


def test_unknown_suffix_is_refused(tmp_path):
    with pytest.raises(ValueError, match="cannot save a figure as '.jpg'; use .png or .svg"):
        save_figure(_figure(), tmp_path / "x.jpg")
    assert not (tmp_path / "x.jpg").exists()
