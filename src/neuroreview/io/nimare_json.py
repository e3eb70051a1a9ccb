"""NiMARE's two JSON forms, read into Studies and written from them.

* The **Dataset dict** (``nimare.dataset.Dataset``'s JSON): ``{study_id: {"metadata": {...},
  "contrasts": {contrast_id: {"coords": {"space", "x", "y", "z", "z_stat"...}, "metadata":
  {"sample_sizes": [n]}, "images": {...}}}}}``.
* The **NIMADS studyset** (``nimare.nimads.Studyset``, Neurostore): ``{"id", "name", "studies":
  [{"id", "name", "authors", "publication", "year", "doi", "pmid", "metadata", "analyses": [{"id",
  "name", "points": [{"space", "coordinates": [x, y, z], "values": [{"kind", "value"}]}],
  "metadata": {"sample_sizes": [n]}}]}]}``.

Reading follows what NiMARE itself reads, so the same file gives the same foci, spaces and sample
sizes in both tools: sample sizes as a list or a scalar, searched in NiMARE's order (inline
annotations, analysis metadata, then, for NIMADS only, study metadata); spaces by name ("MNI",
"TAL", "talairach", "mni152_2mm", "ale_2mm"; any other name containing "mni" or "tal"); point
statistics from NiMARE's ``z_stat``/``t_stat``/``p`` columns or NIMADS ``values``. Images, texts,
labels and conditions are not part of our model and are ignored without complaint.

Decisions worth knowing:

* An analysis (contrast) without coordinates, e.g. an image-only NIDM contrast, cannot be an
  :class:`~neuroreview.model.Analysis` (which needs at least one focus). It is skipped, and the
  study's ``notes`` say so ("analysis '1' has no coordinates (images only); not imported"), so
  nothing vanishes silently.
* A list of several sample sizes (one per group) becomes their sum, the subjects contributing to
  the contrast; the analysis ``notes`` keep the original list (NiMARE's ALE kernel uses the mean).
* Points of one analysis in different known spaces are an error; points with no space next to
  points with one are taken to share it (and the analysis ``notes`` say so); no space at all is
  ``Space.UNKNOWN``.
* Our Study fields are written flat into the study metadata under their own names (population,
  modality, drug, provenance, region_findings...), citation fields where each form keeps them
  (NIMADS ``name``/``authors``/``publication``/``year``/``doi``/``pmid``; Dataset study metadata,
  repeated in each contrast's metadata because that is the only metadata NiMARE's Dataset reads).
  Analysis direction, contrast, notes and ``sample_sizes: [n]`` go into the analysis metadata.
  Reading our own file back gives equal Study objects. A focus statistic with no kind cannot be
  written (neither form has a place for it) and is refused, not dropped.

Structural problems name the study and contrast ("study 'pain_01.nidm', contrast '1': ...");
invalid JSON names the line json reports.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from neuroreview.errors import InputError
from neuroreview.io._source import read_text
from neuroreview.io.atomic import atomic_write_text
from neuroreview.model import (
    Analysis,
    Focus,
    Space,
    StatKind,
    Study,
    first_repeated,
    validate_model,
)

__all__ = [
    "format_nimads",
    "format_nimare_dataset",
    "parse_nimads",
    "parse_nimare_dataset",
    "parse_nimare_json",
    "read_nimare_json",
    "to_nimads_dict",
    "to_nimare_dataset_dict",
    "write_nimads",
    "write_nimare_dataset",
]

Source = str | Path

#: Study fields stored in the study metadata under their own names (beyond the citation).
_STUDY_EXTRAS = (
    "population",
    "n_subjects",
    "design",
    "drug",
    "dose",
    "route",
    "modality",
    "timing",
    "exposure",
)
_CITATION_FIELDS = ("title", "authors", "journal", "year", "doi", "pmid")
#: Citation fields repeated in each Dataset contrast's metadata, as NiMARE's converters do.
_CONTRAST_CITATION = ("title", "authors", "year", "journal")

#: NiMARE's Dataset coordinate column for each statistic kind ("z" itself is the z coordinate).
_STAT_COLUMN = {
    StatKind.Z: "z_stat",
    StatKind.T: "t_stat",
    StatKind.F: "value_f",
    StatKind.P: "p",
    StatKind.OTHER: "value_other",
}
_COLUMN_STAT = {column: kind for kind, column in _STAT_COLUMN.items()}
#: The NIMADS point-value kind for each statistic, spelled as NiMARE writes it.
_NIMADS_KIND = {
    StatKind.Z: "Z",
    StatKind.T: "T",
    StatKind.F: "F",
    StatKind.P: "p",
    StatKind.OTHER: "other",
}
#: Spellings of point-value kinds met in NIMADS files, after lower-casing and dropping
#: everything but letters; other kinds (beta, variance, se...) are not test statistics.
_KIND_SPELLINGS = {
    "z": StatKind.Z,
    "zstat": StatKind.Z,
    "zscore": StatKind.Z,
    "t": StatKind.T,
    "tstat": StatKind.T,
    "f": StatKind.F,
    "fstat": StatKind.F,
    "p": StatKind.P,
    "pvalue": StatKind.P,
    "other": StatKind.OTHER,
}
#: When a point carries several statistics, the one kept.
_STAT_PREFERENCE = (StatKind.Z, StatKind.T, StatKind.F, StatKind.P, StatKind.OTHER)
#: Dataset coordinate column naming each focus's statistic kind; written only when a focus has a
#: kind but no value, which the value columns alone cannot express.
_STAT_KIND_COLUMN = "stat_kind"
#: Study metadata key holding the exact author list, written only when names contain commas or
#: semicolons and the usual "Smith J, Doe A" string would not split back into the same names.
_AUTHOR_LIST = "author_list"


# ================================================================================== reading


#: Analysis metadata key holding the authors' region label of each focus (NIMADS points and
#: NiMARE coordinates have no label field).
POINT_LABELS = "point_labels"


def read_nimare_json(path: Source) -> list[Study]:
    """Read a NiMARE Dataset JSON or a NIMADS studyset JSON, whichever the file holds."""
    text = read_text(path)
    try:
        return parse_nimare_json(_load_json(text, path), source=path)
    except InputError as error:
        if error.line is not None:
            raise
        located = _located(error, text, path)
    raise located from None


def _located(error: InputError, text: str, path: Source) -> InputError:
    """The same error with the line of the JSON object it is about.

    Decoded objects carry no line numbers, and decoding with them is several times slower, so
    only a file that failed is decoded again, keeping lines, and parsed again to the same error.
    """
    try:
        document = _decode_locating_objects(text)
    except (RecursionError, ValueError):  # the pure-Python decoder recurses more deeply
        return error
    try:
        parse_nimare_json(document, source=path)
    except InputError as again:
        return again
    return error


class _LocatedObject(dict):
    """A decoded JSON object that remembers the line its opening brace stood on."""

    json_line: int


def _decode_locating_objects(text: str) -> Any:
    newlines = [match.start() for match in re.finditer("\n", text)]
    decoder = json.JSONDecoder()

    def parse_object(string_and_end, *args, **kwargs):
        brace = string_and_end[1] - 1
        members, end = json.decoder.JSONObject(string_and_end, *args, **kwargs)
        located = _LocatedObject(members)
        located.json_line = bisect.bisect_left(newlines, brace) + 1
        return located, end

    decoder.parse_object = parse_object
    decoder.scan_once = json.scanner.py_make_scanner(decoder)
    return decoder.decode(text.removeprefix("\ufeff"))


def _line_of(node: Any) -> int | None:
    return getattr(node, "json_line", None)


def parse_nimare_json(obj: Any, source: Source = "<json>") -> list[Study]:
    """Studies from an already-decoded NiMARE JSON document of either form."""
    if not isinstance(obj, dict):
        raise InputError(
            "expected a JSON object (a NiMARE Dataset or a NIMADS studyset) at the top level, "
            f"found {_json_type(obj)}",
            source,
        )
    if "studies" in obj:
        return parse_nimads(obj, source)
    if "notes" in obj and "studyset" in obj:
        raise InputError(
            "this is a NIMADS annotation, not a studyset; read the studyset it annotates", source
        )
    return parse_nimare_dataset(obj, source)


def _load_json(text: str, source: Source) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            f"is not valid JSON: {error.msg} (column {error.colno})", source, error.lineno
        ) from None
    except RecursionError:
        raise InputError("is not usable JSON: it is nested too deeply", source) from None
    except ValueError as error:  # e.g. an integer with more digits than Python allows
        raise InputError(f"is not usable JSON: {error}", source) from None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    for kind, name in (
        (bool, "true/false"),
        (dict, "an object"),
        (list, "a list"),
        (str, "a string"),
    ):
        if isinstance(value, kind):
            return name
    return "a number"


class _Where:
    """The place a message is about: source plus "study 'a', contrast 'b'", which a JSON file
    needs because its objects have no line numbers once decoded."""

    def __init__(self, source: Source, label: str, line: int | None = None):
        self.source = source
        self.label = label
        self.line = line

    def child(self, label: str, node: Any = None) -> _Where:
        """A place inside this one; ``node`` is its JSON object, whose line (if known) wins."""
        return _Where(self.source, f"{self.label}, {label}", _line_of(node) or self.line)

    def error(self, message: str) -> InputError:
        return InputError(f"{self.label}: {message}", self.source, self.line)


# -- small typed accessors: every value from a file is checked before it is used ------------


def _mapping(value: Any, where: _Where, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise where.error(f"{what} must be a JSON object, found {_json_type(value)}")
    return value


def _text(value: Any, where: _Where, what: str) -> str | None:
    """Optional text; numbers become text (ids and PMIDs are often written as numbers)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise where.error(f"{what} must be text, found {_json_type(value)}")


def _id(value: Any, fallback: str, where: _Where, what: str) -> str:
    """An id as given (the model strips it), or NiMARE's positional fallback when absent."""
    text = _text(value, where, what)
    return fallback if text is None or not text.strip() else text


def _number(value: Any, where: _Where, what: str) -> float:
    if value is None:
        raise where.error(f"{what} is missing")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise where.error(f"{what} {_shorten(value)} is not a number")
    try:
        return float(value)
    except OverflowError:
        raise where.error(f"{what} is too large to be a coordinate") from None


def _shorten(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _positive_int(value: Any, where: _Where, what: str) -> int:
    count: int | None = None
    if isinstance(value, bool):
        count = None
    elif isinstance(value, int):
        count = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        count = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        count = int(value.strip())
    if count is None or count <= 0:
        raise where.error(f"{what} must be a whole number above 0, found {_shorten(value)}")
    return count


def _sample_size(candidates: Iterable[tuple[str, Any]], where: _Where) -> tuple[int | None, str]:
    """The first sample size given, in NiMARE's order; ``(n, note)`` with a note if summed.

    A list of several sizes (one per group) is summed: the subjects behind the contrast.
    """
    for key, value in candidates:
        if value is None or (isinstance(value, list) and not value):
            continue
        sizes = value if isinstance(value, list) else [value]
        counts = [_positive_int(v, where, key) for v in sizes]
        total = sum(counts)
        if len(counts) == 1:
            return total, ""
        return total, f"{key} {counts} read as n_subjects={total} (their sum)"
    return None, ""


def _space(value: Any, where: _Where) -> Space:
    """A space name as NiMARE spells it; missing means unknown, unrecognised is an error."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return Space.UNKNOWN
    if not isinstance(value, str):
        raise where.error(f"space must be text, found {_json_type(value)}")
    try:
        return Space.parse(value)
    except ValueError:
        pass
    lowered = value.lower()
    if "mni" in lowered:
        return Space.MNI
    if "tal" in lowered:
        return Space.TAL
    raise where.error(f"unknown coordinate space {value!r} (expected MNI or TAL)")


def _authors(value: Any, where: _Where) -> list[str]:
    """Authors as a list; a string is split at ';' if it has one, else at ', '."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [_text(a, where, "each author") or "" for a in value]
    if not isinstance(value, str):
        raise where.error(f"authors must be text or a list of text, found {_json_type(value)}")
    parts = value.split(";") if ";" in value else value.split(", ")
    return [part.strip() for part in parts if part.strip()]


def _join_notes(given: str | None, *generated: str) -> str | None:
    """The notes a file gave, plus what reading had to say; unchanged when it said nothing."""
    added = [note for note in generated if note]
    if not added:
        return given
    return "; ".join([given, *added] if given else added)


def _first_present(key: str, *sources: Mapping[str, Any]) -> Any:
    """The first value given for ``key``; an empty string counts as given, null does not."""
    for source in sources:
        value = source.get(key)
        if value is not None:
            return value
    return None


# -- statistics on points --------------------------------------------------------------------


def _stat_value(value: Any, where: _Where) -> float | None:
    if value is None:
        return None
    return _number(value, where, "statistic value")


def _pick_stat(
    values: Mapping[StatKind, Any], where: _Where
) -> tuple[StatKind | None, float | None]:
    """The statistic a focus keeps: the first kind (z, t, F, p, other) that has a value."""
    for kind in _STAT_PREFERENCE:
        if values.get(kind) is not None:
            return kind, _stat_value(values[kind], where)
    return None, None


def _focus(xyz: list[Any], stat: tuple[StatKind | None, float | None], where: _Where) -> Focus:
    x, y, z = (_number(v, where, f"{axis} coordinate") for axis, v in zip("xyz", xyz, strict=True))
    data = {"x": x, "y": y, "z": z, "stat_kind": stat[0], "stat_value": stat[1]}
    return validate_model(Focus, data, source=where.source, line=where.line, what=where.label)


def _no_coordinates_note(kind: str, analysis_id: str, images: Any) -> str:
    has_images = isinstance(images, dict | list) and any(
        v is not None for v in (images.values() if isinstance(images, dict) else images)
    )
    what = "has no coordinates (images only)" if has_images else "has no coordinates"
    return f"{kind} '{analysis_id}' {what}; not imported"


def _analysis(data: dict[str, Any], where: _Where) -> Analysis:
    return validate_model(Analysis, data, source=where.source, line=where.line, what=where.label)


def _analysis_fields(metadata: Mapping[str, Any], where: _Where) -> dict[str, Any]:
    """Direction, kind, measure, subject group, contrast and notes: what our writers keep in
    analysis metadata (absent in others' files: the model's defaults apply)."""
    return {
        "direction": metadata.get("direction"),
        "kind": metadata.get("kind"),
        "measure": metadata.get("measure"),
        "subject_group": _text(metadata.get("subject_group"), where, "subject_group"),
        "contrast": _text(metadata.get("contrast"), where, "contrast"),
        "notes": _text(metadata.get("notes"), where, "notes"),
    }


def _with_point_labels(
    foci: list[Focus], metadata: Mapping[str, Any], where: _Where
) -> list[Focus]:
    """The authors' peak labels our writers keep as ``point_labels`` (one per focus, or null)."""
    labels = metadata.get(POINT_LABELS)
    if labels is None:
        return foci
    if not isinstance(labels, list) or len(labels) != len(foci):
        raise where.error(f"'{POINT_LABELS}' must be a list with one label (or null) per focus")
    return [
        focus.model_copy(update={"label": _text(label, where, POINT_LABELS)})
        for focus, label in zip(foci, labels, strict=True)
    ]


def _study(
    study_id: str,
    citation: dict[str, Any],
    metadata: Mapping[str, Any],
    analyses: list[Analysis],
    skipped: list[str],
    where: _Where,
    provenance_tag: str,
) -> Study:
    """Assemble and validate a Study from the pieces both forms share."""
    data: dict[str, Any] = {"id": study_id, "analyses": analyses}
    data |= {key: value for key, value in citation.items() if value is not None}
    if metadata.get(_AUTHOR_LIST) is not None:
        data["authors"] = _authors(metadata[_AUTHOR_LIST], where)
    data |= {key: metadata[key] for key in _STUDY_EXTRAS if metadata.get(key) is not None}
    if "n_subjects" not in data:
        candidates = [("sample_sizes", metadata.get("sample_sizes"))]
        candidates.append(("sample_size", metadata.get("sample_size")))
        n, _ = _sample_size(candidates, where)
        if n is not None:
            data["n_subjects"] = n
    region_findings = metadata.get("region_findings")
    if region_findings is not None:
        data["region_findings"] = region_findings
    if metadata.get("provenance") is not None:
        data["provenance"] = metadata["provenance"]
    elif analyses:
        data["provenance"] = {"foci": provenance_tag}
    data["notes"] = _join_notes(_text(metadata.get("notes"), where, "notes"), *skipped)
    return validate_model(Study, data, source=where.source, line=where.line, what=where.label)


def _citation(sources: tuple[Mapping[str, Any], ...], where: _Where) -> dict[str, Any]:
    """Citation fields, each from the first of ``sources`` that has it (top-level fields first,
    then study metadata, then each analysis's metadata, where NiMARE's converters copy them)."""
    found = {key: _first_present(key, *sources) for key in _CITATION_FIELDS}
    return {
        "title": _text(found["title"], where, "title"),
        "authors": _authors(found["authors"], where),
        "journal": _text(found["journal"], where, "journal"),
        "year": None if found["year"] == "" else found["year"],
        "doi": _text(found["doi"], where, "doi"),
        "pmid": found["pmid"],
    }


# -- the Dataset dict ---------------------------------------------------------------------------


def parse_nimare_dataset(obj: Any, source: Source = "<json>") -> list[Study]:
    """Studies from a NiMARE Dataset dict: ``{study_id: {"contrasts": {contrast_id: ...}}}``."""
    if not isinstance(obj, dict):
        raise InputError(
            f"expected a NiMARE Dataset object at the top level, found {_json_type(obj)}", source
        )
    tag = f"nimare_dataset:{Path(str(source)).name}"
    return [
        _dataset_study(
            study_id,
            entry,
            _Where(source, f"study '{study_id}'", _line_of(entry) or _line_of(obj)),
            tag,
        )
        for study_id, entry in obj.items()
    ]


def _dataset_study(study_id: str, entry: Any, where: _Where, tag: str) -> Study:
    if not isinstance(entry, dict) or "contrasts" not in entry:
        raise where.error(
            "expected an object with a 'contrasts' object (the NiMARE Dataset form), found "
            f"{_json_type(entry) if not isinstance(entry, dict) else 'no contrasts'}"
        )
    contrasts = _mapping(entry["contrasts"], where, "'contrasts'")
    metadata = _mapping(entry.get("metadata"), where, "'metadata'")
    analyses: list[Analysis] = []
    skipped: list[str] = []
    contrast_metadata: list[dict[str, Any]] = []
    for contrast_id, raw in contrasts.items():
        here = where.child(f"contrast '{contrast_id}'", raw)
        contrast = _mapping(raw, here, "the contrast")
        contrast_md = _mapping(contrast.get("metadata"), here, "'metadata'")
        contrast_metadata.append(contrast_md)
        analysis = _dataset_analysis(contrast_id, contrast, contrast_md, here)
        if analysis is None:
            skipped.append(_no_coordinates_note("contrast", contrast_id, contrast.get("images")))
        else:
            analyses.append(analysis)
    level = {k: v for k, v in entry.items() if k not in ("contrasts", "metadata")}
    citation = _citation((metadata, level, *contrast_metadata), where)
    return _study(study_id, citation, metadata, analyses, skipped, where, tag)


def _dataset_analysis(
    contrast_id: str, contrast: dict[str, Any], metadata: dict[str, Any], where: _Where
) -> Analysis | None:
    """The contrast as an Analysis, or None when it has no coordinates to hold."""
    if contrast.get("coords") is None:
        return None
    coords = _mapping(contrast["coords"], where, "'coords'")
    xs, ys, zs = (_coordinate_list(coords, axis, where) for axis in "xyz")
    if not len(xs) == len(ys) == len(zs):
        raise where.error(
            f"coords x, y and z have different lengths ({len(xs)}, {len(ys)} and {len(zs)})"
        )
    if all(v is None for v in (*xs, *ys, *zs)):  # also NiMARE's "x": [null] for no points
        return None
    stats = _dataset_stats(coords, len(xs), where)
    foci = [
        _focus([x, y, z], stat, where.child(f"coordinate {i + 1}", coords))
        for i, (x, y, z, stat) in enumerate(zip(xs, ys, zs, stats, strict=True))
    ]
    n_subjects, size_note = _sample_size(
        [
            ("sample_sizes", metadata.get("sample_sizes")),
            ("sample_size", metadata.get("sample_size")),
        ],
        where,
    )
    fields = _analysis_fields(metadata, where)
    name = _first_present("analysis_name", metadata) or _first_present("contrast_name", metadata)
    data = {
        "id": contrast_id,
        "name": _text(name, where, "analysis_name") or "",
        "n_subjects": n_subjects,
        "space": _space(coords.get("space"), where),
        "foci": _with_point_labels(foci, metadata, where),
        **fields,
        "notes": _join_notes(fields["notes"], size_note),
    }
    return _analysis(data, where)


def _coordinate_list(coords: dict[str, Any], axis: str, where: _Where) -> list[Any]:
    if axis not in coords:
        raise where.error(f"'coords' has no '{axis}' list")
    values = coords[axis]
    if not isinstance(values, list):
        raise where.error(f"coords '{axis}' must be a list of numbers, found {_json_type(values)}")
    return values


def _per_focus(value: Any, n: int, where: _Where, column: str) -> list[Any]:
    """A coordinate column: a list with one value per focus, or one value NiMARE repeats."""
    if not isinstance(value, list):
        return [value] * n
    if len(value) != n:
        raise where.error(f"coords '{column}' has {len(value)} values for {n} coordinates")
    return value


def _dataset_stats(
    coords: dict[str, Any], n: int, where: _Where
) -> list[tuple[StatKind | None, float | None]]:
    columns = {
        kind: _per_focus(coords[column], n, where, column)
        for column, kind in _COLUMN_STAT.items()
        if column in coords
    }
    if _STAT_KIND_COLUMN not in coords:
        return [
            _pick_stat({kind: values[i] for kind, values in columns.items()}, where)
            for i in range(n)
        ]
    kinds = [
        _stat_kind(value, where)
        for value in _per_focus(coords[_STAT_KIND_COLUMN], n, where, _STAT_KIND_COLUMN)
    ]
    return [
        (kind, _stat_value(columns[kind][i], where) if kind in columns else None)
        for i, kind in enumerate(kinds)
    ]


def _stat_kind(value: Any, where: _Where) -> StatKind | None:
    if value is None:
        return None
    try:
        return StatKind.parse(value)
    except ValueError as error:
        raise where.error(str(error)) from None


# -- the NIMADS studyset -----------------------------------------------------------------------


def parse_nimads(obj: Any, source: Source = "<json>") -> list[Study]:
    """Studies from a NIMADS studyset: ``{"studies": [{"id", "analyses": [...]}, ...]}``."""
    if not isinstance(obj, dict):
        raise InputError(
            f"expected a NIMADS studyset object at the top level, found {_json_type(obj)}", source
        )
    studies = obj.get("studies")
    if not isinstance(studies, list):
        raise InputError(
            f"a NIMADS studyset's 'studies' must be a list, found {_json_type(studies)}",
            source,
            _line_of(obj),
        )
    tag = f"nimads:{Path(str(source)).name}"
    analysis_rows = iter(range(10**12))  # NiMARE numbers id-less analyses across the studyset
    return [
        _nimads_study(
            row,
            study,
            _Where(source, f"study {row + 1}", _line_of(study) or _line_of(obj)),
            tag,
            analysis_rows,
        )
        for row, study in enumerate(studies)
    ]


def _nimads_study(
    row: int, study: Any, where: _Where, tag: str, analysis_rows: Iterable[int]
) -> Study:
    if not isinstance(study, dict):
        raise where.error(f"must be an object, found {_json_type(study)}")
    study_id = _id(study.get("id"), f"study-{row}", where, "id")
    where = _Where(where.source, f"study '{study_id}'", where.line)
    metadata = _mapping(study.get("metadata"), where, "'metadata'")
    raw_analyses = study.get("analyses")
    if raw_analyses is not None and not isinstance(raw_analyses, list):
        raise where.error(f"'analyses' must be a list, found {_json_type(raw_analyses)}")
    analyses: list[Analysis] = []
    skipped: list[str] = []
    analysis_metadata: list[dict[str, Any]] = []
    for raw, a_row in zip(raw_analyses or [], analysis_rows, strict=False):
        if not isinstance(raw, dict):
            raise where.error(f"each analysis must be an object, found {_json_type(raw)}")
        analysis_id = _id(raw.get("id"), f"analysis-{a_row}", where, "analysis id")
        here = where.child(f"analysis '{analysis_id}'", raw)
        analysis_md = _mapping(raw.get("metadata"), here, "'metadata'")
        analysis_metadata.append(analysis_md)
        analysis = _nimads_analysis(analysis_id, raw, analysis_md, metadata, here)
        if analysis is None:
            skipped.append(_no_coordinates_note("analysis", analysis_id, raw.get("images")))
        else:
            analyses.append(analysis)
    name = _text(study.get("name"), where, "name")
    top = {
        "title": None if name is None or name == study_id else name,
        "authors": study.get("authors"),
        "journal": study.get("publication"),
        "year": study.get("year"),
        "doi": study.get("doi"),
        "pmid": study.get("pmid"),
    }
    citation = _citation((top, metadata, *analysis_metadata), where)
    return _study(study_id, citation, metadata, analyses, skipped, where, tag)


def _nimads_analysis(
    analysis_id: str,
    raw: dict[str, Any],
    metadata: dict[str, Any],
    study_metadata: dict[str, Any],
    where: _Where,
) -> Analysis | None:
    """The analysis as an Analysis, or None when it has no points to hold."""
    points = raw.get("points")
    if points is not None and not isinstance(points, list):
        raise where.error(f"'points' must be a list, found {_json_type(points)}")
    if not points:
        return None
    spaces, foci = [], []
    for i, point in enumerate(points):
        here = where.child(f"point {i + 1}", point)
        if not isinstance(point, dict):
            raise here.error(f"must be an object, found {_json_type(point)}")
        coordinates = point.get("coordinates")
        if not isinstance(coordinates, list) or len(coordinates) != 3:
            raise here.error(
                f"'coordinates' must be a list [x, y, z], found {_shorten(coordinates)}"
            )
        spaces.append(_space(point.get("space"), here))
        foci.append(_focus(coordinates, _nimads_stat(point.get("values"), here), here))
    space, space_note = _analysis_space(spaces, where)
    labels = _inline_annotations(raw.get("annotations"), where)
    n_subjects, size_note = _sample_size(
        [
            ("sample_size", labels.get("sample_size")),
            ("sample_sizes", labels.get("sample_sizes")),
            ("sample_sizes", metadata.get("sample_sizes")),
            ("sample_size", metadata.get("sample_size")),
            ("sample_sizes", study_metadata.get("sample_sizes")),
            ("sample_size", study_metadata.get("sample_size")),
        ],
        where,
    )
    fields = _analysis_fields(metadata, where)
    data = {
        "id": analysis_id,
        "name": _text(raw.get("name"), where, "name") or "",
        "n_subjects": n_subjects,
        "space": space,
        "foci": _with_point_labels(foci, metadata, where),
        **fields,
        "notes": _join_notes(fields["notes"], space_note, size_note),
    }
    return _analysis(data, where)


def _nimads_stat(values: Any, where: _Where) -> tuple[StatKind | None, float | None]:
    """The statistic of a point from its ``values`` ([{"kind": "T", "value": 4.2}, ...])."""
    if values is None:
        return None, None
    if not isinstance(values, list):
        raise where.error(f"'values' must be a list, found {_json_type(values)}")
    found: dict[StatKind, Any] = {}
    for entry in values:
        if not isinstance(entry, dict):
            continue  # NiMARE skips these too
        kind = _KIND_SPELLINGS.get(re.sub(r"[^a-z]", "", str(entry.get("kind")).lower()))
        if kind is not None and kind not in found:
            found[kind] = entry.get("value")
    kind, value = _pick_stat(found, where)
    if kind is None and found:  # a kind stated without its value
        kind = next(iter(found))
    return kind, value


def _analysis_space(spaces: list[Space], where: _Where) -> tuple[Space, str]:
    known = sorted({space for space in spaces if space is not Space.UNKNOWN})
    if len(known) > 1:
        names = " and ".join(space.value for space in known)
        raise where.error(
            f"its points are in different spaces ({names}); split it into one analysis per space"
        )
    if not known:
        return Space.UNKNOWN, ""
    missing = spaces.count(Space.UNKNOWN)
    if not missing:
        return known[0], ""
    return known[0], (
        f"{missing} of {len(spaces)} points had no space; taken to be {known[0].value} like "
        "the others"
    )


def _inline_annotations(value: Any, where: _Where) -> dict[str, Any]:
    """An analysis's inline annotations flattened as NiMARE flattens them into labels."""
    labels: dict[str, Any] = {}
    for key, note in _mapping(value, where, "'annotations'").items():
        if isinstance(note, dict):
            labels.update(note)
        else:
            labels[key] = note
    return labels


# ================================================================================== writing


def to_nimare_dataset_dict(studies: Iterable[Study]) -> dict[str, Any]:
    """The NiMARE Dataset dict for ``studies`` (what :func:`write_nimare_dataset` writes)."""
    return {
        study.id: {
            "metadata": _study_metadata(study, citation=True),
            "contrasts": {a.id: _dataset_contrast(study, a) for a in study.analyses},
        }
        for study in _unique(studies)
    }


def to_nimads_dict(
    studies: Iterable[Study], studyset_id: str = "neuroreview", name: str = ""
) -> dict[str, Any]:
    """The NIMADS studyset for ``studies`` (what :func:`write_nimads` writes)."""
    return {
        "id": studyset_id,
        "name": name,
        "studies": [_nimads_study_dict(study) for study in _unique(studies)],
    }


def write_nimare_dataset(studies: Iterable[Study], path: Source) -> None:
    """Write ``studies`` as a NiMARE Dataset JSON file, atomically."""
    _write_json(to_nimare_dataset_dict(studies), path)


def write_nimads(
    studies: Iterable[Study], path: Source, studyset_id: str = "neuroreview", name: str = ""
) -> None:
    """Write ``studies`` as a NIMADS studyset JSON file, atomically."""
    _write_json(to_nimads_dict(studies, studyset_id, name), path)


def format_nimare_dataset(studies: Iterable[Study]) -> str:
    """The text :func:`write_nimare_dataset` writes, for standard output."""
    return _json_text(to_nimare_dataset_dict(studies))


def format_nimads(
    studies: Iterable[Study], studyset_id: str = "neuroreview", name: str = ""
) -> str:
    """The text :func:`write_nimads` writes, for standard output."""
    return _json_text(to_nimads_dict(studies, studyset_id, name))


def _json_text(document: dict[str, Any]) -> str:
    """One serialisation for files and standard output, so both read back the same."""
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _write_json(document: dict[str, Any], path: Source) -> None:
    text = _json_text(document)
    try:
        atomic_write_text(path, text)
    except OSError as error:
        raise InputError(f"cannot be written ({error.strerror or error})", path) from None


def _unique(studies: Iterable[Study]) -> list[Study]:
    studies = list(studies)
    repeated = first_repeated(s.id for s in studies)
    if repeated is not None:
        raise InputError(
            f"study id '{repeated}' appears twice; NiMARE files key studies by id, so merge "
            "the two or rename one"
        )
    return studies


def _authors_text(authors: list[str]) -> str:
    """Authors as NiMARE and Neurostore write them: one string, "Smith J, Doe A".

    Never a JSON list: NiMARE's ``convert_nimads_to_dataset`` fails on list-valued authors.
    """
    return ", ".join(authors)


def _authors_read_back(authors: list[str]) -> bool:
    """Whether :func:`_authors_text` splits back into exactly these names."""
    # str.strip() here matches _authors(); pydantic's own stripping leaves some characters
    # (such as \x1f) that str.strip() removes.
    return all(
        author and author == author.strip() and "," not in author and ";" not in author
        for author in authors
    )


def _citation_values(study: Study) -> dict[str, Any]:
    values = {
        "title": study.title,
        "authors": _authors_text(study.authors) if study.authors else None,
        "journal": study.journal,
        "year": study.year,
        "doi": study.doi,
        "pmid": study.pmid,
    }
    return {key: value for key, value in values.items() if value is not None}


def _study_metadata(study: Study, *, citation: bool) -> dict[str, Any]:
    metadata = _citation_values(study) if citation else {}
    metadata |= study.model_dump(mode="json", include=set(_STUDY_EXTRAS), exclude_defaults=True)
    if not _authors_read_back(study.authors):
        metadata[_AUTHOR_LIST] = list(study.authors)
    if study.notes is not None:
        metadata["notes"] = study.notes
    if study.region_findings:
        metadata["region_findings"] = [f.model_dump(mode="json") for f in study.region_findings]
    metadata["provenance"] = dict(study.provenance)
    return metadata


def _analysis_metadata(analysis: Analysis) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    if analysis.n_subjects is not None:
        metadata["sample_sizes"] = [analysis.n_subjects]
    if analysis.direction.value != "unknown":
        metadata["direction"] = analysis.direction.value
    metadata["kind"] = analysis.kind.value
    if analysis.measure.value != "other":
        metadata["measure"] = analysis.measure.value
    if analysis.subject_group is not None:
        metadata["subject_group"] = analysis.subject_group
    if any(focus.label is not None for focus in analysis.foci):
        metadata[POINT_LABELS] = [focus.label for focus in analysis.foci]
    if analysis.contrast is not None:
        metadata["contrast"] = analysis.contrast
    if analysis.notes is not None:
        metadata["notes"] = analysis.notes
    return metadata


def _check_stat_kinds(study: Study, analysis: Analysis) -> None:
    """A statistic without its kind has no NiMARE column or NIMADS kind; refuse rather than drop."""
    for i, focus in enumerate(analysis.foci, start=1):
        if focus.stat_kind is None and focus.stat_value is not None:
            raise InputError(
                f"study '{study.id}', analysis '{analysis.id}', focus {i}: statistic "
                f"{focus.stat_value:g} has no kind (z, t, F, p or other); set stat_kind"
            )


def _dataset_contrast(study: Study, analysis: Analysis) -> dict[str, Any]:
    _check_stat_kinds(study, analysis)
    foci = analysis.foci
    coords: dict[str, Any] = {
        "space": analysis.space.value,
        "x": [f.x for f in foci],
        "y": [f.y for f in foci],
        "z": [f.z for f in foci],
    }
    for kind in _STAT_PREFERENCE:
        if any(f.stat_kind is kind for f in foci):
            coords[_STAT_COLUMN[kind]] = [
                f.stat_value if f.stat_kind is kind else None for f in foci
            ]
    if any(f.stat_kind is not None and f.stat_value is None for f in foci):
        coords[_STAT_KIND_COLUMN] = [f.stat_kind.value if f.stat_kind else None for f in foci]
    metadata = _analysis_metadata(analysis)
    if analysis.name:
        metadata["analysis_name"] = analysis.name
    citation = _citation_values(study)
    metadata |= {key: citation[key] for key in _CONTRAST_CITATION if key in citation}
    return {"coords": coords, "metadata": metadata}


def _nimads_study_dict(study: Study) -> dict[str, Any]:
    document: dict[str, Any] = {"id": study.id, "name": study.title or study.id}
    if study.title is not None and not study.title:
        document["name"] = ""
    citation = _citation_values(study)
    for ours, theirs in (("authors", "authors"), ("journal", "publication"), ("year", "year")):
        if ours in citation:
            document[theirs] = citation[ours]
    for key in ("doi", "pmid"):
        if key in citation:
            document[key] = citation[key]
    metadata = _study_metadata(study, citation=False)
    if study.title is not None and study.title == study.id:
        metadata["title"] = study.title  # a name equal to the id reads as "no title"
    document["metadata"] = metadata
    for analysis in study.analyses:
        _check_stat_kinds(study, analysis)
    document["analyses"] = [_nimads_analysis_dict(a) for a in study.analyses]
    return document


def _nimads_analysis_dict(analysis: Analysis) -> dict[str, Any]:
    return {
        "id": analysis.id,
        "name": analysis.name,
        "conditions": [],
        "weights": [],
        "images": [],
        "points": [_nimads_point(focus, analysis.space) for focus in analysis.foci],
        "metadata": _analysis_metadata(analysis),
    }


def _nimads_point(focus: Focus, space: Space) -> dict[str, Any]:
    values = []
    if focus.stat_kind is not None:
        values.append({"kind": _NIMADS_KIND[focus.stat_kind], "value": focus.stat_value})
    return {"space": space.value, "coordinates": [focus.x, focus.y, focus.z], "values": values}
