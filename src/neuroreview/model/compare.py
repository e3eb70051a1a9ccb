"""Two or more extractions of one study, compared field by field, and merged into one.

Dual extraction catches what single extraction lets through (a correlation entered as a drug
effect, a misread coordinate table): reviewers extract the same paper independently and an owner
settles each difference. This module is the one rule for which fields of two extractions are
"the same field" and when they agree; it reads no store, so the pipeline, the web app and the
tests share it.

Pairing. Analyses are paired by id when the same id appears in more than one extraction; those
left over (ids only one reviewer used) are paired by their order among the left-overs, and the
pairing says which ("id" or "position"). Region findings likewise, by (region, direction) and
then by position. Foci are paired in the order listed. An analysis, focus or finding that some
extractions lack is one disagreement at its path (``analyses.1``); its fields are not compared.

Paths number items in the comparison's order, which is each study's own order whenever the
extractions list the same items in the same order (then ``analyses.0.foci.2.x`` is also the
field's path in either study, as a validation error would name it).

Agreement. Coordinates agree within :data:`COORDINATE_TOLERANCE_MM`; text agrees ignoring case
and runs of spaces; everything else must be equal (an empty field agrees with an empty one: both
reviewers found it unreported). Free-text notes and provenance are a reviewer's own remarks, not
extracted data, so they are not compared; a merge keeps those of the extraction it starts from.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from neuroreview.errors import InputError
from neuroreview.model.study import Analysis, EffectSize, Focus, RegionFinding, Study
from neuroreview.model.validation import validate_model

#: Coordinates this close (mm) are the same peak typed twice; the float noise of a unit
#: conversion must not read as a disagreement, a misread digit (>= 0.1 mm) must.
COORDINATE_TOLERANCE_MM = 0.01
_COORDINATES = frozenset({"x", "y", "z"})

_STUDY_FIELDS = tuple(
    name
    for name in Study.model_fields
    if name not in {"id", "record_id", "provenance", "notes", "analyses", "region_findings"}
)
_ANALYSIS_FIELDS = tuple(n for n in Analysis.model_fields if n not in {"id", "foci", "notes"})
_FOCUS_FIELDS = tuple(Focus.model_fields)
_FINDING_FIELDS = tuple(n for n in RegionFinding.model_fields if n not in {"notes", "effect_size"})
_EFFECT_FIELDS = tuple(EffectSize.model_fields)

#: How a group of items was paired (see the module's docstring).
BY_ID = "id"
BY_REGION = "region and direction"
BY_POSITION = "position"
UNPAIRED = "unpaired"


@dataclass(frozen=True)
class ComparedField:
    """One field (or, when ``item``, one whole analysis, focus or finding) across extractions.

    ``values`` maps each reviewer to the value as JSON; for an item it is a short description,
    None where that reviewer has no such item. ``spread_mm`` is, for a coordinate, the largest
    minus the smallest value.
    """

    path: str
    values: dict[str, Any]
    agree: bool
    item: bool = False
    spread_mm: float | None = None


@dataclass(frozen=True)
class Pairing:
    """Which analysis or region finding of each reviewer was compared at ``path``, and how
    they were paired; ``labels`` gives each reviewer's id (or region and direction)."""

    path: str
    paired_by: str
    labels: dict[str, str | None]


@dataclass(frozen=True)
class Comparison:
    """Every compared field of a study's extractions, in the study's order."""

    study_id: str
    reviewers: tuple[str, ...]
    fields: tuple[ComparedField, ...]
    pairings: tuple[Pairing, ...]

    @property
    def compared(self) -> int:
        return len(self.fields)

    @property
    def disagreements(self) -> int:
        return sum(1 for f in self.fields if not f.agree)

    @property
    def agreement(self) -> float:
        """The percentage of compared fields in agreement: the study's extraction agreement."""
        return 100.0 * (self.compared - self.disagreements) / self.compared

    def field(self, path: str) -> ComparedField:
        for compared in self.fields:
            if compared.path == path:
                return compared
        raise KeyError(path)


def compare_studies(extractions: Mapping[str, Study]) -> Comparison:
    """Compare the extractions (reviewer -> study) of one study, reviewers in the given order."""
    if len(extractions) < 2:
        raise ValueError("a comparison needs at least two extractions")
    walk = _Walk({r: s.model_dump(mode="json") for r, s in extractions.items()}, None)
    walk.study()
    first = next(iter(extractions.values()))
    return Comparison(first.id, tuple(extractions), tuple(walk.rows), tuple(walk.pairings))


def merge_studies(
    extractions: Mapping[str, Study], base: str, choices: Mapping[str, str] | None = None
) -> Study:
    """The study as ``base``'s extraction has it, except at each path of ``choices``, where it
    takes the named reviewer's value (for an item: that reviewer's item, or its absence).

    A path must be one the comparison lists; a choice inside an item that some extractions lack
    is refused, since that item's fields were never compared (choose the item's path instead).
    """
    choices = dict(choices or {})
    for who in (base, *choices.values()):
        if who not in extractions:
            raise InputError(f"no extraction by {who!r} to take values from")
    walk = _Walk({r: s.model_dump(mode="json") for r, s in extractions.items()}, base, choices)
    merged = walk.study()
    unknown = sorted(set(choices) - {row.path for row in walk.rows})
    if unknown:
        raise InputError(f"no compared field {unknown[0]!r} in the comparison of these extractions")
    return validate_model(Study, merged, what=f"study {merged['id']!r} as merged")


# --- the walk ------------------------------------------------------------------------------


class _Walk:
    """One pass over the extractions (as JSON) that lists every compared field and, with a
    ``base``, builds the merged study from the same pairing, so paths and merge never differ."""

    def __init__(
        self,
        data: dict[str, dict[str, Any]],
        base: str | None,
        choices: Mapping[str, str] | None = None,
    ) -> None:
        self.data = data
        self.base = base if base is not None else next(iter(data))
        self.choices = choices or {}
        self.rows: list[ComparedField] = []
        self.pairings: list[Pairing] = []

    def source(self, path: str) -> str:
        return self.choices.get(path, self.base)

    def study(self) -> dict[str, Any]:
        out = dict(self.data[self.base])
        self.fields("", self.data, _STUDY_FIELDS, out)
        out["analyses"] = self.items(
            "analyses",
            {r: d["analyses"] for r, d in self.data.items()},
            self.analysis,
            key=lambda a: a["id"],
            paired_by=BY_ID,
            label=lambda a: a["id"],
            summary=_analysis_summary,
        )
        out["region_findings"] = self.items(
            "region_findings",
            {r: d["region_findings"] for r, d in self.data.items()},
            self.finding,
            key=lambda f: (_normal(f["region"]), f["direction"]),
            paired_by=BY_REGION,
            label=lambda f: f"{f['region']} {f['direction']}",
            summary=_finding_summary,
        )
        return out

    def analysis(self, path: str, members: dict[str, dict[str, Any]]) -> dict[str, Any]:
        out = dict(members[self.base])
        self.fields(f"{path}.", members, _ANALYSIS_FIELDS, out)
        out["foci"] = self.items(
            f"{path}.foci",
            {r: m["foci"] for r, m in members.items()},
            self.focus,
            summary=_focus_summary,
        )
        return out

    def focus(self, path: str, members: dict[str, dict[str, Any]]) -> dict[str, Any]:
        out = dict(members[self.base])
        self.fields(f"{path}.", members, _FOCUS_FIELDS, out)
        return out

    def finding(self, path: str, members: dict[str, dict[str, Any]]) -> dict[str, Any]:
        out = dict(members[self.base])
        self.fields(f"{path}.", members, _FINDING_FIELDS, out)
        effects = {r: m["effect_size"] for r, m in members.items()}
        if any(e is None for e in effects.values()):
            # Reported by some only (or by none): the effect size is one field.
            self.fields(f"{path}.", members, ("effect_size",), out)
        else:
            effect = dict(effects[self.base])
            self.fields(f"{path}.effect_size.", effects, _EFFECT_FIELDS, effect)
            out["effect_size"] = effect
        return out

    def fields(
        self,
        prefix: str,
        members: Mapping[str, dict[str, Any]],
        names: Sequence[str],
        out: dict[str, Any],
    ) -> None:
        """Compare ``names`` of the members; ``out`` takes each from the chosen reviewer."""
        for name in names:
            path = prefix + name
            values = {r: m.get(name) for r, m in members.items()}
            self.rows.append(_compared(path, name, values))
            out[name] = values[self.source(path)]

    def items(
        self,
        path: str,
        lists: dict[str, list[dict[str, Any]]],
        inner: Callable[[str, dict[str, dict[str, Any]]], dict[str, Any]],
        *,
        summary: Callable[[dict[str, Any]], str],
        key: Callable[[dict[str, Any]], Hashable] | None = None,
        paired_by: str = BY_POSITION,
        label: Callable[[dict[str, Any]], str] | None = None,
    ) -> list[dict[str, Any]]:
        """Pair the items of ``lists``, compare each pair with ``inner``, and return the merged
        list: a pair complete in every extraction is merged field by field; an item some
        extractions lack is one compared field, kept when the chosen reviewer has it."""
        merged = []
        for k, (how, positions) in enumerate(_pair(lists, key, paired_by)):
            where = f"{path}.{k}"
            members = {r: lists[r][p] if p is not None else None for r, p in positions.items()}
            if label is not None:
                labels = {r: label(m) if m is not None else None for r, m in members.items()}
                self.pairings.append(Pairing(where, how, labels))
            if all(m is not None for m in members.values()):
                merged.append(inner(where, members))  # type: ignore[arg-type]
                continue
            shown = {r: summary(m) if m is not None else None for r, m in members.items()}
            self.rows.append(ComparedField(where, shown, agree=False, item=True))
            chosen = members[self.source(where)]
            if chosen is not None:
                merged.append(chosen)
        return merged


def _pair(
    lists: Mapping[str, Sequence[dict[str, Any]]],
    key: Callable[[dict[str, Any]], Hashable] | None,
    paired_by: str,
) -> list[tuple[str, dict[str, int | None]]]:
    """Groups of positions (reviewer -> index in their list, None: absent), in study order.

    Items sharing a key across extractions are paired first (the n-th item of a key with the
    n-th of the same key elsewhere); the rest by their order among the unpaired ones.
    """
    reviewers = list(lists)
    groups: list[tuple[str, dict[str, int | None]]] = []
    used: dict[str, set[int]] = {r: set() for r in reviewers}
    if key is not None:
        keyed: dict[str, dict[Hashable, int]] = {}
        for r in reviewers:
            seen: Counter[Hashable] = Counter()
            keyed[r] = {}
            for i, item in enumerate(lists[r]):
                k = key(item)
                keyed[r][(k, seen[k])] = i
                seen[k] += 1
        counts = Counter(k for r in reviewers for k in keyed[r])
        for k, n in counts.items():
            if n < 2:
                continue
            positions = {r: keyed[r].get(k) for r in reviewers}
            for r, p in positions.items():
                if p is not None:
                    used[r].add(p)
            groups.append((paired_by, positions))
    left = {r: [i for i in range(len(lists[r])) if i not in used[r]] for r in reviewers}
    for j in range(max((len(v) for v in left.values()), default=0)):
        positions = {r: (v[j] if j < len(v) else None) for r, v in left.items()}
        present = sum(p is not None for p in positions.values())
        groups.append((BY_POSITION if present >= 2 else UNPAIRED, positions))

    def order(group: tuple[str, dict[str, int | None]]) -> tuple[float, tuple[float, ...]]:
        at = tuple(math.inf if p is None else float(p) for p in group[1].values())
        return min(at), at

    return sorted(groups, key=order)


def _compared(path: str, name: str, values: dict[str, Any]) -> ComparedField:
    if name in _COORDINATES and all(isinstance(v, int | float) for v in values.values()):
        spread = max(values.values()) - min(values.values())
        # The tolerance is inclusive; the epsilon absorbs float error in the subtraction.
        return ComparedField(path, values, spread <= COORDINATE_TOLERANCE_MM + 1e-9, False, spread)
    distinct = {json.dumps(_normal(v), sort_keys=True) for v in values.values()}
    return ComparedField(path, values, len(distinct) == 1)


def _normal(value: Any) -> Any:
    """The form two values are compared in: text without case or extra spaces."""
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    return value


def _analysis_summary(analysis: dict[str, Any]) -> str:
    what = analysis.get("contrast") or analysis.get("name") or ""
    n = len(analysis.get("foci") or [])
    return f"{analysis['id']}{': ' + what if what else ''} ({n} foci, {analysis['kind']})"


def _focus_summary(focus: dict[str, Any]) -> str:
    return f"({focus['x']:g}, {focus['y']:g}, {focus['z']:g})"


def _finding_summary(finding: dict[str, Any]) -> str:
    return f"{finding['region']} {finding['direction']} ({finding['kind']}, {finding['measure']})"
