"""CSV/TSV tables of studies, coordinate foci and region findings: the spreadsheet format.

A review's extraction lives in three long ("tidy") tables that a researcher can edit in any
spreadsheet: one row per study, one row per focus, one row per region finding, joined on
``study_id``. The kind of a table is told by its header, so file names do not matter. Column
meanings, types and allowed values are documented in ``docs/tables.md``.

Every row is validated through the pydantic models (:func:`~neuroreview.model.validate_model`), so
the tables accept exactly what the models accept, and errors name ``file:line`` and the column.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from neuroreview.errors import InputError
from neuroreview.io._source import read_text
from neuroreview.io.atomic import atomic_paths
from neuroreview.model import (
    Analysis,
    Focus,
    RegionFinding,
    Study,
    describe_validation_error,
    first_repeated,
    validate_model,
)


class TableKind(StrEnum):
    STUDIES = "studies"
    FOCI = "foci"
    REGION_FINDINGS = "region_findings"


#: Columns of each kind, in the order :func:`write_tables` writes them.
COLUMNS: dict[TableKind, tuple[str, ...]] = {
    TableKind.STUDIES: (
        "study_id", "title", "authors", "year", "journal", "doi", "pmid", "population",
        "n_subjects", "design", "drug", "dose", "route", "modality", "timing", "exposure", "notes",
        "provenance",
    ),
    TableKind.FOCI: (
        "study_id", "analysis_id", "x", "y", "z", "analysis_name", "contrast", "direction",
        "kind", "measure", "subject_group", "n_subjects", "space", "stat_kind", "stat_value",
        "label", "analysis_notes",
    ),
    TableKind.REGION_FINDINGS: (
        "study_id", "region", "region_raw", "direction", "kind", "measure", "contrast",
        "effect_kind",
        "effect_value", "effect_variance", "effect_n", "notes",
    ),
}  # fmt: skip

REQUIRED: dict[TableKind, tuple[str, ...]] = {
    TableKind.STUDIES: ("study_id",),
    TableKind.FOCI: ("study_id", "analysis_id", "x", "y", "z"),
    TableKind.REGION_FINDINGS: ("study_id", "region"),
}

#: Separates authors in the ``authors`` cell ("Zarate CA; Singh JB; Carlson PJ").
AUTHOR_SEPARATOR = "; "

_FILE_STEMS = {kind: kind.value for kind in TableKind}
_DELIMITERS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}

#: Model field paths (as validate_model names them) -> the column a user has to fix.
_COLUMN_OF_FIELD: dict[TableKind, dict[str, str]] = {
    TableKind.STUDIES: {"id": "study_id"},
    TableKind.FOCI: {
        "id": "analysis_id",
        "name": "analysis_name",
        "notes": "analysis_notes",
        "foci.0.x": "x",
        "foci.0.y": "y",
        "foci.0.z": "z",
        "foci.0.stat_kind": "stat_kind",
        "foci.0.stat_value": "stat_value",
        "foci.0.label": "label",
        "foci.0": "x",
    },
    TableKind.REGION_FINDINGS: {
        "effect_size": "effect_value",
        "effect_size.kind": "effect_kind",
        "effect_size.value": "effect_value",
        "effect_size.variance": "effect_variance",
        "effect_size.n": "effect_n",
    },
}


# --------------------------------------------------------------------------------------------
# Rows and table content
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudyRow:
    """A studies-table row: the Study it describes (without analyses or findings yet)."""

    line: int
    study: Study


@dataclass(frozen=True)
class FocusRow:
    """A foci-table row: its study id and its Analysis holding just this row's focus."""

    line: int
    study_id: str
    analysis: Analysis


@dataclass(frozen=True)
class RegionFindingRow:
    """A region-findings-table row: its study id and the finding."""

    line: int
    study_id: str
    finding: RegionFinding


Row = StudyRow | FocusRow | RegionFindingRow


@dataclass(frozen=True)
class TableContent:
    """One table file: its kind and its rows as validated models with their line numbers."""

    kind: TableKind
    source: Path
    rows: tuple[Row, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------------------------
# Delimited text with line numbers (shared with the Neurosynth reader)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DelimitedRecords:
    """A delimited file split into records, with the line each record starts on.

    Line numbers are those an editor shows: a quoted cell spanning lines moves later records down.
    Blank records (empty lines, or only delimiters and spaces) are dropped.
    """

    header: list[str]
    header_line: int
    rows: list[list[str]]
    lines: list[int]


def read_delimited(text: str, delimiter: str, source: str | Path) -> DelimitedRecords:
    """Split ``text`` with the csv module (RFC 4180 quoting, strict), keeping line numbers."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    header_line = 0
    rows: list[list[str]] = []
    lines: list[int] = []
    end_of_previous = 0
    try:
        for record in reader:
            start, end_of_previous = end_of_previous + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header, header_line = record, start
            else:
                rows.append(record)
                lines.append(start)
    except csv.Error as error:
        start = end_of_previous + 1
        if "unexpected end of data" in str(error):
            raise InputError("a quoted cell starting here is never closed", source, start) from None
        raise InputError(f"malformed quoting ({error})", source, reader.line_num) from None
    if header is None:
        raise InputError("file is empty (no header line)", source, 1)
    return DelimitedRecords(header, header_line, rows, lines)


def _extension(path: Path) -> str:
    """The extension that tells the delimiter: ``.csv`` for both ``f.csv`` and ``f.csv.gz``."""
    return Path(path.name.lower().removesuffix(".gz")).suffix


#: How messages name a delimiter.
_DELIMITER_NAMES = {",": "','", ";": "';'", "\t": "tabs"}


def _check_delimiter(path: Path, text: str, delimiter: str) -> None:
    """Refuse a header split by another delimiter than its extension's (a ``;`` .csv).

    Read with the wrong delimiter, the whole header is one column, and the message would be a
    puzzling "lacks study_id"; naming the delimiter found says what to fix.
    """
    lines = text.splitlines()
    number, first = next(((i, s) for i, s in enumerate(lines, 1) if s.strip()), (1, ""))
    if delimiter in first:
        return
    counts = {d: first.count(d) for d in _DELIMITER_NAMES if d != delimiter}
    found = max(counts, key=lambda d: counts[d])
    if counts[found]:
        raise InputError(
            f"columns are separated by {_DELIMITER_NAMES[found]}, but a {_extension(path)} "
            f"file needs {_DELIMITER_NAMES[delimiter]}",
            path,
            number,
        )


def _sniff_delimiter(path: Path, text: str) -> str:
    """The delimiter from the extension (``.csv``, ``.tsv``, also under ``.gz``), else the header."""
    suffix = _extension(path)
    if suffix in _DELIMITERS:
        return _DELIMITERS[suffix]
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in ("\t", ",", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def read_table(path: str | Path) -> TableContent:
    """Read one studies, foci or region-findings table (``.csv``, ``.tsv``, optionally ``.gz``).

    The kind is told by the header. Unknown columns are rejected, so a typo such as ``studyid``
    is caught instead of silently dropping a column's data. Header names ignore case, and spaces
    count as underscores.
    """
    path = Path(path)
    text = read_text(path)
    if not text.strip():
        raise InputError(
            "file is empty; expected a header line naming the columns "
            "(a studies, foci or region findings table: see docs/tables.md)",
            path,
            1,
        )
    delimiter = _sniff_delimiter(path, text)
    if _extension(path) in _DELIMITERS:
        _check_delimiter(path, text, delimiter)
    records = read_delimited(text, delimiter, path)
    names = _header_names(records, path)
    kind = _kind_of(names)
    _check_columns(kind, names, path, records.header_line)
    parse = {
        TableKind.STUDIES: _study_row,
        TableKind.FOCI: _focus_row,
        TableKind.REGION_FINDINGS: _region_row,
    }[kind]
    rows = []
    for cells, line in zip(records.rows, records.lines, strict=True):
        if len(cells) != len(names):
            raise InputError(
                f"expected {len(names)} fields as in the header, found {len(cells)}", path, line
            )
        values = {n: c for n, c in zip(names, cells, strict=True) if c.strip()}
        rows.append(parse(values, path, line))
    return TableContent(kind=kind, source=path, rows=tuple(rows))


def read_tables(paths: Iterable[str | Path] | str | Path) -> list[Study]:
    """Read any combination of studies, foci and region-findings tables and join them on study_id.

    Studies come in the order of the studies tables; a study named only by foci or region rows
    gets a minimal Study (just its id), appended in order of first appearance. Analyses keep the
    order in which they first appear, foci and findings their row order. Study ids must be unique
    across studies tables, and all rows of one analysis must agree on its analysis-level columns.
    """
    paths = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    _refuse_repeated_paths(paths)
    contents = [read_table(p) for p in paths]
    joiner = _Joiner()
    for content in contents:
        for row in content.rows:
            joiner.add(row, content.source)
    return joiner.studies()


def _refuse_repeated_paths(paths: Sequence[Path]) -> None:
    """The same foci file twice would silently double its foci, so it is an error."""
    seen: dict[Path, Path] = {}
    for path in paths:
        key = path.resolve()
        if key in seen:
            raise InputError(f"the same file is given twice (also as {seen[key]})", path)
        seen[key] = path


def _header_names(records: DelimitedRecords, path: Path) -> list[str]:
    names = [re.sub(r"\s+", "_", cell.strip().lower()) for cell in records.header]
    seen: set[str] = set()
    for name in names:
        if not name:
            raise InputError("the header has an empty column name", path, records.header_line)
        if name in seen:
            raise InputError(
                f"column {name!r} appears twice in the header", path, records.header_line
            )
        seen.add(name)
    return names


def _kind_of(names: Sequence[str]) -> TableKind:
    """The kind whose own columns (those no other kind has) the header names most.

    A header naming none of them (just ``study_id`` and shared columns) is a studies table.
    """

    def own_columns(kind: TableKind) -> set[str]:
        others = set().union(*(COLUMNS[k] for k in TableKind if k is not kind))
        return set(COLUMNS[kind]) - others

    scores = {kind: len(own_columns(kind).intersection(names)) for kind in TableKind}
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] else TableKind.STUDIES


def _check_columns(kind: TableKind, names: Sequence[str], path: Path, line: int) -> None:
    expected = COLUMNS[kind]
    unknown = [n for n in names if n not in expected]
    missing = [n for n in REQUIRED[kind] if n not in names]
    described = kind.value.replace("_", " ")
    if missing:
        raise InputError(
            f"the header of this {described} table lacks the required column(s) "
            f"{', '.join(missing)}; expected columns: {', '.join(expected)}",
            path,
            line,
        )
    if unknown:
        raise InputError(
            f"unknown column(s) {', '.join(repr(n) for n in unknown)} in this {described} table; "
            f"expected columns: {', '.join(expected)}",
            path,
            line,
        )


def _validate(
    kind: TableKind, model: type[BaseModel], data: Mapping[str, Any], path: Path, line: int
) -> Any:
    """validate_model, with the message naming table columns instead of model fields."""
    try:
        return validate_model(model, data, source=path, line=line)
    except InputError as error:
        columns = _COLUMN_OF_FIELD[kind]
        message = re.sub(
            r"field '([^']*)'",
            lambda m: f"column '{columns.get(m.group(1), m.group(1))}'",
            error.message,
        )
        for phrase in _EMPTY_PHRASES:
            message = message.replace(phrase, "is empty but required")
        raise InputError(message, path, line) from None


#: What pydantic says about a required cell left blank (blank cells are passed as missing).
_EMPTY_PHRASES = ("Field required", "String should have at least 1 character")


def _study_row(values: dict[str, str], path: Path, line: int) -> StudyRow:
    data: dict[str, Any] = {k: v for k, v in values.items() if k != "study_id"}
    data["id"] = values.get("study_id", "")
    if "authors" in values:
        data["authors"] = [a.strip() for a in values["authors"].split(";") if a.strip()]
    if "provenance" in values:
        data["provenance"] = _provenance(values["provenance"], path, line)
    study = _validate(TableKind.STUDIES, Study, data, path, line)
    return StudyRow(line=line, study=study)


def _provenance(text: str, path: Path, line: int) -> dict:
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise InputError(
            'column \'provenance\': expected a JSON object such as {"n_subjects": "table 1"}',
            path,
            line,
        )
    return value


def _study_id(values: Mapping[str, str], path: Path, line: int) -> str:
    study_id = values.get("study_id", "").strip()
    if not study_id:
        raise InputError("column 'study_id' is empty", path, line)
    return study_id


def _focus_row(values: dict[str, str], path: Path, line: int) -> FocusRow:
    study_id = _study_id(values, path, line)
    focus_keys = ("x", "y", "z", "stat_kind", "stat_value", "label")
    focus = {k: values[k] for k in focus_keys if k in values}
    renamed = {"analysis_id": "id", "analysis_name": "name", "analysis_notes": "notes"}
    data: dict[str, Any] = {renamed[k]: v for k, v in values.items() if k in renamed}
    for key in ("contrast", "direction", "kind", "measure", "subject_group", "n_subjects", "space"):
        if key in values:
            data[key] = values[key]
    data.setdefault("id", "")
    data["foci"] = [focus]
    analysis = _validate(TableKind.FOCI, Analysis, data, path, line)
    return FocusRow(line=line, study_id=study_id, analysis=analysis)


def _region_row(values: dict[str, str], path: Path, line: int) -> RegionFindingRow:
    study_id = _study_id(values, path, line)
    keys = ("region", "region_raw", "direction", "kind", "measure", "contrast", "notes")
    data: dict[str, Any] = {k: values[k] for k in keys if k in values}
    data.setdefault("region", "")
    effect = {k.removeprefix("effect_"): v for k, v in values.items() if k.startswith("effect_")}
    if effect:
        data["effect_size"] = effect
    finding = _validate(TableKind.REGION_FINDINGS, RegionFinding, data, path, line)
    return RegionFindingRow(line=line, study_id=study_id, finding=finding)


@dataclass(frozen=True)
class _Location:
    source: Path
    line: int

    def relative_to(self, here: _Location) -> str:
        """'line 4' in the same file, 'other.csv:4' across files."""
        if self.source == here.source:
            return f"line {self.line}"
        return f"{self.source}:{self.line}"


@dataclass
class _PendingAnalysis:
    first: Analysis
    location: _Location
    foci: list[Focus] = field(default_factory=list)


class _Joiner:
    """Collects rows of all tables, then assembles Studies (the join of read_tables)."""

    def __init__(self) -> None:
        self._studies: dict[str, tuple[Study, _Location]] = {}
        self._implicit: dict[str, None] = {}
        self._analyses: dict[str, dict[str, _PendingAnalysis]] = {}
        self._findings: dict[str, list[RegionFinding]] = {}

    def add(self, row: Row, source: Path) -> None:
        here = _Location(source, row.line)
        if isinstance(row, StudyRow):
            self._add_study(row.study, here)
        elif isinstance(row, FocusRow):
            self._implicit.setdefault(row.study_id)
            self._add_focus(row.study_id, row.analysis, here)
        else:
            self._implicit.setdefault(row.study_id)
            self._findings.setdefault(row.study_id, []).append(row.finding)

    def _add_study(self, study: Study, here: _Location) -> None:
        if study.id in self._studies:
            first = self._studies[study.id][1]
            raise InputError(
                f"study_id {study.id!r} appears twice (first on {first.relative_to(here)})",
                here.source,
                here.line,
            )
        self._studies[study.id] = (study, here)

    def _add_focus(self, study_id: str, analysis: Analysis, here: _Location) -> None:
        analyses = self._analyses.setdefault(study_id, {})
        pending = analyses.get(analysis.id)
        if pending is None:
            analyses[analysis.id] = _PendingAnalysis(analysis, here, list(analysis.foci))
            return
        _check_same_analysis(pending, analysis, study_id, here)
        pending.foci.extend(analysis.foci)

    def studies(self) -> list[Study]:
        ids = list(self._studies) + [i for i in self._implicit if i not in self._studies]
        result = []
        for study_id in ids:
            study, here = self._studies.get(study_id, (None, None))
            study = Study(id=study_id) if study is None else study.model_copy(deep=True)
            pending = self._analyses.get(study_id, {}).values()
            analyses = [p.first.model_copy(update={"foci": p.foci}) for p in pending]
            try:
                # validate_assignment re-checks the study (e.g. unique analysis ids).
                study.analyses = analyses
                study.region_findings = self._findings.get(study_id, [])
            except ValidationError as error:  # defensive: rows were validated one by one
                where = (here.source, here.line) if here else (None, None)
                message = f"study {study_id!r}: {describe_validation_error(error)}"
                raise InputError(message, *where) from None
            result.append(study)
        return result


_ANALYSIS_COLUMNS = {"name": "analysis_name", "notes": "analysis_notes"}


def _check_same_analysis(
    pending: _PendingAnalysis, analysis: Analysis, study_id: str, here: _Location
) -> None:
    first = pending.first.model_dump(mode="json", exclude={"foci"})
    this = analysis.model_dump(mode="json", exclude={"foci"})
    for key, value in first.items():
        if this[key] != value:
            column = _ANALYSIS_COLUMNS.get(key, key)
            raise InputError(
                f"column '{column}' is {_shown(this[key])} here but {_shown(value)} on "
                f"{pending.location.relative_to(here)}; all rows of analysis {analysis.id!r} of "
                f"study {study_id!r} must agree on it",
                here.source,
                here.line,
            )


def _shown(value: object) -> str:
    return "empty" if value in (None, "") else repr(value)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def write_tables(
    studies: Sequence[Study], directory: str | Path, fmt: Literal["csv", "tsv"] = "csv"
) -> list[Path]:
    """Write studies, foci and region_findings tables (``.csv`` or ``.tsv``) into ``directory``.

    All three files are written to temporary files first and moved into place only when all are
    written, so a failure never leaves a half-written table. Reading the three files back
    with :func:`read_tables` gives the same studies.
    """
    texts = table_texts(studies, fmt)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    finals = [directory / name for name in texts]
    with atomic_paths(finals) as temporaries:
        for temporary, text in zip(temporaries, texts.values(), strict=True):
            _write_text(temporary, text)
    return finals


def _write_text(path: Path, text: str) -> None:
    with open(path, "x", encoding="utf-8", newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def table_texts(studies: Sequence[Study], fmt: Literal["csv", "tsv"] = "csv") -> dict[str, str]:
    """The studies, foci and region_findings tables as file name -> text, as
    :func:`write_tables` writes them. Lines end in CRLF as RFC 4180 asks; that also makes the
    csv module quote cells holding a carriage return, which keeps them intact."""
    if fmt not in ("csv", "tsv"):
        raise ValueError(f"fmt must be 'csv' or 'tsv', not {fmt!r}")
    studies = list(studies)
    _check_writable(studies)
    tables = {
        TableKind.STUDIES: [_study_cells(s) for s in studies],
        TableKind.FOCI: [cells for s in studies for cells in _foci_cells(s)],
        TableKind.REGION_FINDINGS: [cells for s in studies for cells in _finding_cells(s)],
    }
    delimiter = "," if fmt == "csv" else "\t"
    texts = {}
    for kind, rows in tables.items():
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(COLUMNS[kind])
        writer.writerows(rows)
        texts[f"{_FILE_STEMS[kind]}.{fmt}"] = buffer.getvalue()
    return texts


def _check_writable(studies: Sequence[Study]) -> None:
    """Refuse what could not be read back as written: repeated ids, ';' inside an author name."""
    repeated = first_repeated(s.id for s in studies)
    if repeated is not None:
        raise InputError(f"study id {repeated!r} appears twice; ids must be unique")
    for study in studies:
        for author in study.authors:
            if ";" in author:
                raise InputError(
                    f"study {study.id!r}: author {author!r} contains ';', which separates "
                    "authors in the table"
                )


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back as the same float
    return str(value)


def _study_cells(study: Study) -> list[str]:
    values: dict[str, object] = study.model_dump(exclude={"analyses", "region_findings"})
    values["study_id"] = values.pop("id")
    values["authors"] = AUTHOR_SEPARATOR.join(study.authors) or None
    values["provenance"] = (
        json.dumps(study.provenance, ensure_ascii=False) if study.provenance else None
    )
    return [_cell(values[c]) for c in COLUMNS[TableKind.STUDIES]]


def _foci_cells(study: Study) -> Iterable[list[str]]:
    for analysis in study.analyses:
        shared = {
            "study_id": study.id,
            "analysis_id": analysis.id,
            "analysis_name": analysis.name or None,
            "contrast": analysis.contrast,
            "direction": analysis.direction,
            "kind": analysis.kind,
            "measure": analysis.measure,
            "subject_group": analysis.subject_group,
            "n_subjects": analysis.n_subjects,
            "space": analysis.space,
            "analysis_notes": analysis.notes,
        }
        for focus in analysis.foci:
            values = shared | focus.model_dump()
            yield [_cell(values[c]) for c in COLUMNS[TableKind.FOCI]]


def _finding_cells(study: Study) -> Iterable[list[str]]:
    for finding in study.region_findings:
        values: dict[str, object] = finding.model_dump(exclude={"effect_size"})
        values["study_id"] = study.id
        effect = finding.effect_size
        for key in ("kind", "value", "variance", "n"):
            values[f"effect_{key}"] = getattr(effect, key) if effect else None
        yield [_cell(values[c]) for c in COLUMNS[TableKind.REGION_FINDINGS]]
