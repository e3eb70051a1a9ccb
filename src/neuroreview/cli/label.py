"""``neuroreview label X Y Z``: the AAL3 label of one coordinate, and its canonical region.

For checking a reported focus by hand while extracting a study: the anatomical name AAL3 gives
it (or the nearest label and how far away it is) and the review's canonical region for that
name, so the extractor sees what the region-level synthesis will count it as.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Annotated

import typer

from neuroreview.cli.common import console, friendly_errors
from neuroreview.errors import NeuroreviewError

#: Lets "-24" through as a coordinate: click would otherwise take it for an unknown option.
CONTEXT_SETTINGS = {"ignore_unknown_options": True}


@friendly_errors
def label(
    coordinates: Annotated[
        list[str],
        typer.Argument(metavar="X Y Z", help="The coordinate in mm (negative numbers are fine)."),
    ],
    space: Annotated[
        str,
        typer.Option(metavar="mni|tal", help="Space of X Y Z; Talairach uses Lancaster pooled."),
    ] = "mni",
    max_distance: Annotated[
        float,
        typer.Option(help="Outside every label: borrow the nearest within this many mm."),
    ] = 5.0,
) -> None:
    """Name a coordinate with the AAL3 atlas, or its nearest label, and its canonical region."""
    from neuroreview.space import tal_to_mni
    from neuroreview.space.atlas import label_point

    xyz = _parse_coordinates(coordinates)
    chosen = space.lower()
    if chosen not in ("mni", "tal"):
        raise NeuroreviewError(f"unknown space {space!r}; choose mni or tal")
    if not max_distance >= 0:
        raise NeuroreviewError(f"--max-distance must be 0 or more, got {max_distance:g}")
    mni = tal_to_mni(xyz) if chosen == "tal" else xyz
    found = label_point(mni, max_distance)
    where = f"MNI ({_format(mni)})"
    if chosen == "tal":
        where = f"Talairach ({_format(xyz)}) = {where}"
    console.print(where, markup=False, highlight=False)
    if found.index == 0:
        console.print(f"AAL3: unlabelled (no label within {max_distance:g} mm)", markup=False)
    elif found.distance_mm == 0:
        console.print(f"AAL3: {found.name}", markup=False, highlight=False)
    else:
        console.print(
            f"AAL3: {found.name} (nearest label, {found.distance_mm:.1f} mm away)",
            markup=False,
            highlight=False,
        )
    console.print(f"region: {_canonical(found.name) or '-'}", markup=False, highlight=False)


def _parse_coordinates(values: list[str]) -> tuple[float, float, float]:
    """Exactly three finite numbers; anything else (a mistyped option too) is one clear line."""
    if len(values) != 3:
        raise NeuroreviewError(
            f"give three coordinates X Y Z, got {len(values)}: {' '.join(values)}"
        )
    numbers = []
    for axis, value in zip("xyz", values, strict=True):
        try:
            number = float(value)
        except ValueError:
            raise NeuroreviewError(f"{axis} coordinate {value!r} is not a number") from None
        if not math.isfinite(number):
            raise NeuroreviewError(f"{axis} coordinate {value!r} is not a finite number")
        numbers.append(number)
    return numbers[0], numbers[1], numbers[2]


def _canonical(aal3_name: str) -> str | None:
    """The review's canonical region for an AAL3 label as "name (id)", None where it has none.

    Tolerates the region vocabulary being absent, so this command works before it is merged.
    """
    try:
        from neuroreview.synthesis.regions import canonical_for_aal3
    except ImportError:
        return None
    region = canonical_for_aal3(aal3_name)
    return None if region is None else f"{region.name} ({region.id})"


def _format(xyz: Iterable[float]) -> str:
    return ", ".join(f"{round(float(v), 1):g}" for v in xyz)
