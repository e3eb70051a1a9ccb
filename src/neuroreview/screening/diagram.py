"""The PRISMA 2020 flow diagram, laid out once and drawn as SVG (text) or PNG (matplotlib).

The layout follows the template for new reviews (Page et al., 2021, figure 1): phases down the
left (Identification, Screening, Included), the databases-and-registers arm with its removals
and exclusions to the right of each box, and, when records came from other methods, their arm
beside it joining at the included studies. Every count is text in the SVG (``(n = 12)``), so a
reader can search and copy it and a test can read it back; each box carries ``data-box`` with
its key. Records still waiting at a stage are written in the box they wait in, so a diagram of a
review in progress still adds up.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from html import escape

from neuroreview.screening.prisma import Arm, PrismaCounts

BOX_WIDTH = 300
SIDE_GAP = 40
ARM_GAP = 50
BAND_WIDTH = 34
LINE_HEIGHT = 17
PADDING = 10
ROW_GAP = 36
WRAP = 44

#: How the other-methods arm names its sources (Origin values) in the identification box.
METHOD_NAMES = {
    "website": "Websites",
    "organisation": "Organisations",
    "citation": "Citation searching",
    "other": "Other methods",
}


@dataclass(frozen=True)
class Line:
    text: str
    bold: bool = False
    indent: int = 0


@dataclass(frozen=True)
class Box:
    key: str
    x: float
    y: float
    width: float
    height: float
    lines: tuple[Line, ...]
    shaded: bool = False


@dataclass(frozen=True)
class Arrow:
    x1: float
    y1: float
    x2: float
    y2: float
    head: bool = True


@dataclass(frozen=True)
class Band:
    label: str
    y: float
    height: float


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    boxes: tuple[Box, ...]
    arrows: tuple[Arrow, ...]
    bands: tuple[Band, ...]


def _n(value: int) -> str:
    return f"(n = {value})"


def _wrapped(text: str, indent: int = 0) -> list[Line]:
    pieces = textwrap.wrap(text, WRAP - 2 * indent) or [text]
    return [Line(piece, indent=indent if i == 0 else indent + 1) for i, piece in enumerate(pieces)]


def _waiting(count: int, conflicts: int = 0, what: str = "awaiting a decision") -> list[Line]:
    if not count:
        return []
    note = f"{what} {_n(count)}"
    if conflicts:
        note += f", of which {conflicts} in conflict"
    return _wrapped(note, indent=1)


def _height(lines: list[Line]) -> float:
    return 2 * PADDING + LINE_HEIGHT * len(lines)


def _identified_lines(arm: Arm, registers: tuple[str, ...]) -> list[Line]:
    lines = [Line("Records identified from:", bold=True)]
    databases = {k: v for k, v in arm.identified.items() if k not in registers}
    in_registers = {k: v for k, v in arm.identified.items() if k in registers}
    lines += _wrapped(f"Databases {_n(sum(databases.values()))}", indent=1)
    for name, count in databases.items():
        lines += _wrapped(f"{name} {_n(count)}", indent=2)
    lines += _wrapped(f"Registers {_n(sum(in_registers.values()))}", indent=1)
    for name, count in in_registers.items():
        lines += _wrapped(f"{name} {_n(count)}", indent=2)
    return lines


def _other_identified_lines(arm: Arm) -> list[Line]:
    lines = [Line("Records identified from:", bold=True)]
    for origin, count in arm.identified.items():
        lines += _wrapped(f"{METHOD_NAMES.get(origin, origin)} {_n(count)}", indent=1)
    return lines


def _removed_lines(arm: Arm) -> list[Line]:
    return [
        Line("Records removed before screening:", bold=True),
        *_wrapped(f"Duplicate records removed {_n(arm.duplicates)}", indent=1),
        *_wrapped(
            f"Records marked as ineligible by automation tools {_n(arm.automation)}", indent=1
        ),
        *_wrapped(f"Records removed for other reasons {_n(arm.other_removed)}", indent=1),
    ]


def _excluded_lines(arm: Arm) -> list[Line]:
    lines = [Line(f"Reports excluded {_n(arm.n_excluded_full_text)}", bold=True)]
    for reason, count in arm.excluded_full_text.items():
        lines += _wrapped(f"{reason} {_n(count)}", indent=1)
    return lines


def _arm_rows(arm: Arm, registers: tuple[str, ...], other: bool) -> list[tuple[str, list, list]]:
    """(row key, main box lines, side box lines) from identification to full-text assessment."""
    rows: list[tuple[str, list, list]] = []
    if other:
        side = (
            [Line(f"Duplicate records removed {_n(arm.duplicates)}", bold=True)]
            if arm.duplicates or arm.automation or arm.other_removed
            else []
        )
        if arm.automation or arm.other_removed:
            side += _wrapped(f"Records removed for other reasons {_n(arm.other_removed)}", 1)
            side += _wrapped(f"Marked ineligible by automation tools {_n(arm.automation)}", 1)
        rows.append(("identified", _other_identified_lines(arm), side))
    else:
        rows.append(("identified", _identified_lines(arm, registers), _removed_lines(arm)))
        rows.append(
            (
                "screened",
                [
                    Line(f"Records screened {_n(arm.screened)}", bold=True),
                    *_waiting(arm.awaiting_screening, arm.conflicts),
                ],
                [Line(f"Records excluded {_n(arm.excluded_screening)}", bold=True)],
            )
        )
    rows.append(
        (
            "sought",
            [
                Line(f"Reports sought for retrieval {_n(arm.sought)}", bold=True),
                *_waiting(arm.awaiting_retrieval, what="awaiting retrieval"),
            ],
            [Line(f"Reports not retrieved {_n(arm.not_retrieved)}", bold=True)],
        )
    )
    rows.append(
        (
            "assessed",
            [
                Line(f"Reports assessed for eligibility {_n(arm.assessed)}", bold=True),
                *_waiting(arm.awaiting_eligibility),
            ],
            _excluded_lines(arm),
        )
    )
    return rows


def layout(counts: PrismaCounts) -> Layout:
    """Place every box of the diagram; sizes follow the number of lines each box holds."""
    arms = [("databases", counts.databases, False)]
    if counts.has_other_methods:
        arms.append(("other", counts.other_methods, True))
    rows = {key: _arm_rows(arm, counts.registers, other) for key, arm, other in arms}
    # Row keys in order; the other-methods arm has no screening row.
    order = ["identified", "screened", "sought", "assessed"]
    heights = {
        name: max(
            (
                _height(lines)
                for arm_rows in rows.values()
                for key, *pair in arm_rows
                if key == name
                for lines in pair
                if lines
            ),
            default=0,
        )
        for name in order
    }
    included = [
        Line(f"Studies included in review {_n(counts.studies)}", bold=True),
        Line(f"Reports of included studies {_n(counts.reports)}", bold=True),
    ]
    boxes: list[Box] = []
    arrows: list[Arrow] = []
    column = BOX_WIDTH * 2 + SIDE_GAP
    top = 10.0
    y_of: dict[str, float] = {}
    y = top
    for name in order:
        y_of[name] = y
        y += heights[name] + ROW_GAP
    included_y = y
    for index, (prefix, _arm, _other) in enumerate(arms):
        x = BAND_WIDTH + 20 + index * (column + ARM_GAP)
        previous: tuple[float, float] | None = None
        for key, main, side in rows[prefix]:
            height = _height(main)
            row_y = y_of[key]
            boxes.append(Box(f"{prefix}.{key}", x, row_y, BOX_WIDTH, height, tuple(main)))
            if previous is not None:
                arrows.append(Arrow(x + BOX_WIDTH / 2, previous[1], x + BOX_WIDTH / 2, row_y))
            if side:
                side_x = x + BOX_WIDTH + SIDE_GAP
                boxes.append(
                    Box(
                        f"{prefix}.{key}.out",
                        side_x,
                        row_y,
                        BOX_WIDTH,
                        _height(side),
                        tuple(side),
                    )
                )
                arrows.append(Arrow(x + BOX_WIDTH, row_y + height / 2, side_x, row_y + height / 2))
            previous = (row_y, row_y + height)
        assert previous is not None
        middle = x + BOX_WIDTH / 2
        if index == 0:
            arrows.append(Arrow(middle, previous[1], middle, included_y))
        else:
            # Down to the included box's middle, then across into its right side.
            join_y = included_y + _height(included) / 2
            arrows.append(Arrow(middle, previous[1], middle, join_y, head=False))
            arrows.append(Arrow(middle, join_y, BAND_WIDTH + 20 + BOX_WIDTH, join_y))
    boxes.append(
        Box(
            "included",
            BAND_WIDTH + 20,
            included_y,
            BOX_WIDTH,
            _height(included),
            tuple(included),
        )
    )
    height = included_y + _height(included) + 10
    width = BAND_WIDTH + 20 + len(arms) * column + (len(arms) - 1) * ARM_GAP + 10
    bands = (
        Band("Identification", top, heights["identified"]),
        Band(
            "Screening",
            y_of["screened"],
            y_of["assessed"] + heights["assessed"] - y_of["screened"],
        ),
        Band("Included", included_y, _height(included)),
    )
    return Layout(width, height, tuple(boxes), tuple(arrows), bands)


def to_svg(diagram: Layout) -> str:
    """The diagram as standalone SVG text (valid XML; also inlined in the HTML report)."""
    w, h = diagram.width, diagram.height
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="prisma" '
        f'aria-label="PRISMA 2020 flow diagram" viewBox="0 0 {w:.0f} {h:.0f}" '
        f'width="{w:.0f}" height="{h:.0f}" font-family="Helvetica, Arial, sans-serif">',
        '<defs><marker id="prisma-arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" '
        'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker></defs>',
    ]
    for band in diagram.bands:
        cx, cy = 10 + BAND_WIDTH / 2, band.y + band.height / 2
        parts.append(
            f'<g data-band="{escape(band.label)}"><rect x="10" y="{band.y:.1f}" '
            f'width="{BAND_WIDTH}" height="{band.height:.1f}" rx="6" fill="#aecde8"/>'
            f'<text x="{cx:.1f}" y="{cy:.1f}" font-size="13" font-weight="bold" '
            f'text-anchor="middle" dominant-baseline="middle" '
            f'transform="rotate(-90 {cx:.1f} {cy:.1f})">{escape(band.label)}</text></g>'
        )
    for box in diagram.boxes:
        parts.append(
            f'<g data-box="{escape(box.key)}"><rect x="{box.x:.1f}" y="{box.y:.1f}" '
            f'width="{box.width:.1f}" height="{box.height:.1f}" fill="#ffffff" stroke="#333"/>'
        )
        for i, line in enumerate(box.lines):
            weight = ' font-weight="bold"' if line.bold else ""
            x = box.x + PADDING + 12 * line.indent
            y = box.y + PADDING + LINE_HEIGHT * (i + 1) - 4
            parts.append(
                f'<text x="{x:.1f}" y="{y:.1f}" font-size="12"{weight}>{escape(line.text)}</text>'
            )
        parts.append("</g>")
    for arrow in diagram.arrows:
        head = ' marker-end="url(#prisma-arrow)"' if arrow.head else ""
        parts.append(
            f'<line x1="{arrow.x1:.1f}" y1="{arrow.y1:.1f}" x2="{arrow.x2:.1f}" '
            f'y2="{arrow.y2:.1f}" stroke="#333"{head}/>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def to_png(diagram: Layout, dpi: int = 150) -> bytes:
    """The same layout drawn by matplotlib, for slides and manuscripts that take no SVG."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

    figure = plt.figure(figsize=(diagram.width / 100, diagram.height / 100), dpi=dpi)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, diagram.width)
    axes.set_ylim(diagram.height, 0)
    axes.axis("off")
    for band in diagram.bands:
        axes.add_patch(
            FancyBboxPatch(
                (10, band.y),
                BAND_WIDTH,
                band.height,
                boxstyle="round,pad=0,rounding_size=6",
                facecolor="#aecde8",
                edgecolor="none",
            )
        )
        axes.text(
            10 + BAND_WIDTH / 2,
            band.y + band.height / 2,
            band.label,
            rotation=90,
            ha="center",
            va="center",
            fontsize=9.5,
            fontweight="bold",
        )
    for box in diagram.boxes:
        axes.add_patch(
            Rectangle((box.x, box.y), box.width, box.height, facecolor="white", edgecolor="#333")
        )
        for i, line in enumerate(box.lines):
            axes.text(
                box.x + PADDING + 12 * line.indent,
                box.y + PADDING + LINE_HEIGHT * (i + 1) - 4,
                line.text,
                fontsize=8.6,
                fontweight="bold" if line.bold else "normal",
                va="baseline",
            )
    for arrow in diagram.arrows:
        axes.add_patch(
            FancyArrowPatch(
                (arrow.x1, arrow.y1),
                (arrow.x2, arrow.y2),
                arrowstyle="-|>" if arrow.head else "-",
                mutation_scale=10,
                color="#333",
                linewidth=1,
            )
        )
    buffer = io.BytesIO()
    # A library imported beside us may set a tight bounding box globally (NiMARE does): the
    # diagram keeps its own frame, so the PNG matches the layout whatever the process imported.
    with matplotlib.rc_context({"savefig.bbox": "standard"}):
        figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()
