"""Save matplotlib figures whole or not at all, byte-for-byte reproducible across runs."""

from __future__ import annotations

from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from neuroreview.io.atomic import atomic_path

#: Suffix -> matplotlib format. The temporary file's ".tmp" suffix would hide the format.
FORMATS = {".png": "png", ".svg": "svg"}
# No creation date or software version in the file, so rerunning a review changes no bytes.
_METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}
# SVG text stays text (searchable, editable in a journal's workflow); a fixed salt makes the ids
# matplotlib generates for clip paths the same on every run.
_SVG_RC = {"svg.fonttype": "none", "svg.hashsalt": "neuroreview"}
# A library imported beside us may change the global savefig defaults (NiMARE sets a tight
# bounding box): the figure's own frame is used whatever the process imported.
_SAVE_RC = {**_SVG_RC, "savefig.bbox": "standard"}


def save_figure(figure: Figure, path: str | Path) -> Path:
    """Write ``figure`` to ``path`` (PNG or SVG, from the suffix) via write-then-rename."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: cannot save a figure as {path.suffix!r}; use .png or .svg")
    with atomic_path(path) as temporary, matplotlib.rc_context(_SAVE_RC):
        figure.savefig(temporary, format=fmt, metadata=_METADATA[fmt], dpi=150)
    return path
