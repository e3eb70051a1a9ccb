"""Naming one coordinate (``neuroreview label``): AAL3 label, or the nearest within reach, and
the review's canonical region for it."""

from __future__ import annotations

from dataclasses import dataclass

from neuroreview.errors import NeuroreviewError


@dataclass(frozen=True)
class Labelled:
    """A coordinate in MNI mm, its AAL3 label (``index`` 0: none within reach; ``distance_mm``
    0: inside the label) and the canonical region as "name (id)", None where there is none."""

    mni: tuple[float, float, float]
    index: int
    name: str
    distance_mm: float
    region: str | None


def label_coordinate(xyz: tuple[float, float, float], space: str, max_distance: float) -> Labelled:
    """``xyz`` in ``space`` ("mni", or "tal" converted with Lancaster's pooled transform)."""
    from neuroreview.space import tal_to_mni
    from neuroreview.space.atlas import label_point
    from neuroreview.synthesis.regions import canonical_for_aal3

    chosen = space.lower()
    if chosen not in ("mni", "tal"):
        raise NeuroreviewError(f"unknown space {space!r}; choose mni or tal")
    if not max_distance >= 0:
        raise NeuroreviewError(f"--max-distance must be 0 or more, got {max_distance:g}")
    mni = tal_to_mni(xyz) if chosen == "tal" else xyz
    found = label_point(mni, max_distance)
    region = canonical_for_aal3(found.name) if found.index else None
    canonical = None if region is None else f"{region.name} ({region.id})"
    point = (float(mni[0]), float(mni[1]), float(mni[2]))
    return Labelled(point, found.index, found.name, found.distance_mm, canonical)
