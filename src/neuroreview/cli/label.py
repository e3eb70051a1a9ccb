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
    from neuroreview.pipeline.labelling import label_coordinate

    xyz = _parse_coordinates(coordinates)
    found = label_coordinate(xyz, space, max_distance)
    where = f"MNI ({_format(found.mni)})"
    if space.lower() == "tal":
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
    console.print(f"region: {found.region or '-'}", markup=False, highlight=False)


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


def _format(xyz: Iterable[float]) -> str:
    return ", ".join(f"{round(float(v), 1):g}" for v in xyz)
