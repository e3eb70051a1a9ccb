"""Reader for the Neurosynth v0.7 database (coordinates and metadata ``.tsv[.gz]`` files).

The database is half a million foci, so it is kept columnar: two pandas frames, parsed with the C
engine and checked with vectorised masks instead of one pydantic object per row. Pydantic
``Study`` objects are built only on request (:meth:`NeurosynthDatabase.to_studies`), because the
statistical core works on arrays and only the review stages need models.

Every problem is reported as :class:`~neuroreview.errors.InputError` at ``file:line`` (line 1 is
the header; for ``.gz`` files, the line of the decompressed text). When a file has several
problems, the one on the earliest line is reported, so fixing errors top-down always works.
"""

from __future__ import annotations

import csv
import gc
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from neuroreview.errors import InputError
from neuroreview.io._source import read_text
from neuroreview.io.tables import read_delimited
from neuroreview.model import (
    COORDINATE_LIMITS_MM,
    Analysis,
    Focus,
    Space,
    Study,
    coordinate_problem,
    validate_model,
)

#: What every Study built from this database says about where its values came from.
NEUROSYNTH_PROVENANCE = "Neurosynth v0.7 (ODbL 1.0)"

METADATA_COLUMNS = ("id", "doi", "space", "title", "authors", "year", "journal")
METADATA_REQUIRED = ("id", "space")
COORDINATE_COLUMNS = ("id", "table_id", "table_num", "peak_id", "x", "y", "z")
COORDINATE_REQUIRED = ("id", "table_id", "x", "y", "z")

_TEXT_COLUMNS = ("doi", "title", "authors", "journal")
_PROVENANCE_FIELDS = ("title", "authors", "year", "journal", "doi", "pmid", "foci")
_MIN_YEAR, _MAX_YEAR = 1900, 2100  # the bounds Study.year accepts

#: A vectorised check: the mask of bad rows, and what to say about one of them.
_Check = tuple[np.ndarray, Callable[[int], str]]


# --------------------------------------------------------------------------------------------
# The database
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class NeurosynthDatabase:
    """The Neurosynth database as two frames, validated when read.

    ``metadata`` has one row per study (columns ``id`` (PMID as text), ``doi``, ``space``,
    ``title``, ``authors``, ``year`` (nullable Int64), ``journal``; missing text is NaN).
    ``coordinates`` has one row per focus in file order (``id``, ``table_id``, ``table_num``,
    ``peak_id`` as text, ``x``, ``y``, ``z`` as float64). Coordinates stay in the space the study
    reported (``metadata.space``): converting Talairach to MNI is the caller's choice, because the
    right transform depends on the analysis.

    Build it with :func:`read_neurosynth`; the frames are assumed to have passed its checks.
    """

    metadata: pd.DataFrame
    coordinates: pd.DataFrame

    @property
    def n_studies(self) -> int:
        return len(self.metadata)

    @property
    def n_foci(self) -> int:
        return len(self.coordinates)

    def xyz(self) -> np.ndarray:
        """The foci as an (n_foci, 3) float64 array in file order, each in its study's space."""
        return self.coordinates[["x", "y", "z"]].to_numpy(dtype=np.float64)

    def focus_spaces(self) -> pd.Series:
        """The reported space of every focus (aligned with ``coordinates``), from its study."""
        spaces = self.metadata["space"].to_numpy()[self._layout.focus_study]
        return pd.Series(spaces, index=self.coordinates.index, name="space")

    def to_studies(self, ids: Iterable[str | int] | str | int | None = None) -> list[Study]:
        """Studies as pydantic models: all of them in metadata order, or those in ``ids``, in order.

        One Analysis per article table (id = ``table_id``, name ``"table <table_num>"``), direction
        unknown, space from the metadata. Building all 14,371 studies takes a few seconds, so ask
        for the ids you need when you can.
        """
        with _gc_paused():
            return list(self.iter_studies(ids))

    def iter_studies(self, ids: Iterable[str | int] | str | int | None = None) -> Iterator[Study]:
        """Like :meth:`to_studies`, one study at a time, so a caller can stream without the list."""
        layout = self._layout
        for position in self._positions(ids):
            yield self._study_at(position, layout)

    # -- internals ---------------------------------------------------------------------------

    @cached_property
    def _layout(self) -> _Layout:
        return _Layout.build(self.metadata, self.coordinates)

    @cached_property
    def _metadata_rows(self) -> dict[str, list]:
        # Plain lists with None for missing values: far faster to index per study than the frame.
        rows = {}
        for column in METADATA_COLUMNS:
            series = self.metadata[column]
            rows[column] = series.astype(object).where(series.notna(), None).tolist()
        return rows

    def _positions(self, ids: Iterable[str | int] | str | int | None) -> Sequence[int]:
        if ids is None:
            return range(self.n_studies)
        if isinstance(ids, (str, int)):
            ids = [ids]  # one id, not the characters of one id
        wanted = [str(i).strip() for i in ids]
        positions = pd.Index(self.metadata["id"]).get_indexer(wanted)
        missing = [w for w, p in zip(wanted, positions, strict=True) if p < 0]
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise InputError(f"{len(missing)} id(s) not in the Neurosynth database: {shown}")
        return positions.tolist()

    def _study_at(self, position: int, layout: _Layout) -> Study:
        rows = self._metadata_rows
        space = Space(rows["space"][position])
        analyses = [
            self._analysis(code, space, layout) for code in layout.analyses_of_study(position)
        ]
        authors = rows["authors"][position]
        data = {
            "id": rows["id"][position],
            "pmid": rows["id"][position],
            "title": rows["title"][position],
            "authors": _split_authors(authors),
            "year": rows["year"][position],
            "journal": rows["journal"][position],
            "doi": rows["doi"][position],
            "provenance": dict.fromkeys(_PROVENANCE_FIELDS, NEUROSYNTH_PROVENANCE),
            "analyses": analyses,
        }
        return validate_model(Study, data, what=f"Neurosynth study {data['id']!r}")

    def _analysis(self, code: int, space: Space, layout: _Layout) -> Analysis:
        rows = layout.rows_of_analysis(code)
        # Full validation (not model_construct): measured on 507,891 foci, pydantic's compiled
        # validation is faster than model_construct's Python loop, and it re-checks the values.
        foci = [
            Focus(x=x, y=y, z=z)
            for x, y, z in zip(
                layout.x[rows].tolist(),
                layout.y[rows].tolist(),
                layout.z[rows].tolist(),
                strict=True,
            )
        ]
        first = rows[0]
        return Analysis(
            id=layout.table_id[first],
            name=_table_name(layout.table_num[first]),
            space=space,
            foci=foci,
        )


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while half a million small models are built.

    Each Focus is a new tracked object, so the collector runs hundreds of full passes over all the
    objects made so far; measured on the full database that doubles the time of ``to_studies``
    (3.1 s against 1.5 s). The models hold no reference cycles, so nothing is left uncollected.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _split_authors(authors: str | None) -> list[str]:
    if not authors:
        return []
    return [name.strip() for name in authors.split(", ") if name.strip()]


def _table_name(table_num: str) -> str:
    """``"table 2"`` for the article's table label; just ``"table"`` when the label is empty."""
    return f"table {table_num}" if table_num else "table"


@dataclass(frozen=True)
class _Layout:
    """Index arrays that group foci into analyses and analyses into studies, computed once.

    Analyses are the distinct (study id, table_id) pairs in order of first appearance; foci keep
    file order within an analysis. Grouping by sort rather than by trusting that the file is
    sorted keeps a reordered file correct.
    """

    focus_study: np.ndarray  # study position (metadata row) of every focus
    focus_order: np.ndarray  # focus rows, grouped by analysis code
    analysis_start: np.ndarray  # per analysis code: slice of focus_order (len n_analyses + 1)
    analysis_order: np.ndarray  # analysis codes, grouped by study position
    study_start: np.ndarray  # per study: slice of analysis_order (len n_studies + 1)
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    table_id: np.ndarray
    table_num: np.ndarray

    @classmethod
    def build(cls, metadata: pd.DataFrame, coordinates: pd.DataFrame) -> _Layout:
        focus_study = pd.Index(metadata["id"]).get_indexer(coordinates["id"])
        codes = coordinates.groupby(["id", "table_id"], sort=False).ngroup().to_numpy()
        n_analyses = int(codes.max()) + 1 if len(codes) else 0
        focus_order = np.argsort(codes, kind="stable")
        analysis_start = _starts(np.bincount(codes, minlength=n_analyses))
        analysis_study = focus_study[focus_order[analysis_start[:-1]]]
        analysis_order = np.argsort(analysis_study, kind="stable")
        study_start = _starts(np.bincount(analysis_study, minlength=len(metadata)))
        return cls(
            focus_study=focus_study,
            focus_order=focus_order,
            analysis_start=analysis_start,
            analysis_order=analysis_order,
            study_start=study_start,
            x=coordinates["x"].to_numpy(dtype=np.float64),
            y=coordinates["y"].to_numpy(dtype=np.float64),
            z=coordinates["z"].to_numpy(dtype=np.float64),
            table_id=coordinates["table_id"].to_numpy(dtype=object),
            table_num=coordinates["table_num"].to_numpy(dtype=object),
        )

    def analyses_of_study(self, position: int) -> np.ndarray:
        return self.analysis_order[self.study_start[position] : self.study_start[position + 1]]

    def rows_of_analysis(self, code: int) -> np.ndarray:
        return self.focus_order[self.analysis_start[code] : self.analysis_start[code + 1]]


def _starts(counts: np.ndarray) -> np.ndarray:
    starts = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    return starts


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def read_neurosynth(coordinates_path: str | Path, metadata_path: str | Path) -> NeurosynthDatabase:
    """Read and validate the Neurosynth coordinates and metadata files (``.tsv`` or ``.tsv.gz``).

    Checks: required columns present; every row has as many fields as the header; metadata ids
    non-empty and unique; space one of MNI, TAL, UNKNOWN; year an integer in 1900-2100 or empty;
    coordinates finite numbers within +-100 mm; every coordinate id present in the metadata.
    The metadata is read first, because the coordinates are checked against its ids.
    """
    metadata = _read_metadata(Path(metadata_path))
    coordinates = _read_coordinates(Path(coordinates_path), metadata, Path(metadata_path))
    return NeurosynthDatabase(metadata=metadata, coordinates=coordinates)


@dataclass(frozen=True)
class _RawTable:
    """All cells as text, plus the file line of every row, so any later check can name its line."""

    source: Path
    frame: pd.DataFrame
    lines: np.ndarray

    def fail(self, row: int, message: str) -> InputError:
        return InputError(message, self.source, int(self.lines[row]))

    def raise_first(self, checks: Sequence[_Check]) -> None:
        """Raise for the earliest row any check flags: ``checks`` pairs a row mask with a describer."""
        first_row, describe = None, None
        for mask, describer in checks:
            hits = np.flatnonzero(mask)
            if len(hits) and (first_row is None or hits[0] < first_row):
                first_row, describe = int(hits[0]), describer
        if first_row is not None and describe is not None:
            raise self.fail(first_row, describe(first_row))


def _read_metadata(path: Path) -> pd.DataFrame:
    raw = _read_raw_table(path, METADATA_REQUIRED, "Neurosynth metadata")
    cells = {c: _column(raw.frame, c).str.strip() for c in METADATA_COLUMNS}
    ids, space_text, year_text = cells["id"], cells["space"], cells["year"]
    spaces = _parse_spaces(space_text)
    year = pd.to_numeric(year_text, errors="coerce")
    first_line = dict(zip(ids[::-1].tolist(), raw.lines[::-1].tolist(), strict=True))
    duplicate = ids.duplicated(keep="first").to_numpy() & (ids != "").to_numpy()
    bad_year = (year_text != "").to_numpy() & ~_whole_in_range(year, _MIN_YEAR, _MAX_YEAR)
    raw.raise_first(
        [
            ((ids == "").to_numpy(), lambda _: "study id is empty"),
            (
                duplicate,
                lambda r: (
                    f"study id {ids.iat[r]!r} appears twice (first on line {first_line[ids.iat[r]]})"
                ),
            ),
            (
                spaces.isna().to_numpy(),
                lambda r: (
                    f"unknown space {space_text.iat[r]!r} (expected one of: MNI, TAL, UNKNOWN)"
                ),
            ),
            (
                bad_year,
                lambda r: (
                    f"year {year_text.iat[r]!r} is not a whole number from "
                    f"{_MIN_YEAR} to {_MAX_YEAR}"
                ),
            ),
        ]
    )
    frame = pd.DataFrame({"id": ids, "space": spaces.astype(str)})
    for column in _TEXT_COLUMNS:
        frame[column] = cells[column].mask(cells[column] == "")
    frame["year"] = year.round().astype("Int64")
    return frame[list(METADATA_COLUMNS)].reset_index(drop=True)


def _read_coordinates(path: Path, metadata: pd.DataFrame, metadata_path: Path) -> pd.DataFrame:
    raw = _read_raw_table(path, COORDINATE_REQUIRED, "Neurosynth coordinates")
    text = {c: _column(raw.frame, c) for c in COORDINATE_COLUMNS}
    ids, table_ids = text["id"].str.strip(), text["table_id"].str.strip()
    xyz = {axis: pd.to_numeric(text[axis], errors="coerce").to_numpy() for axis in "xyz"}
    checks: list[_Check] = [
        ((ids == "").to_numpy(), lambda _: "study id is empty"),
        ((table_ids == "").to_numpy(), lambda _: "table_id is empty"),
    ]
    for axis, values in xyz.items():
        checks.extend(_coordinate_checks(axis, values, text[axis]))
    checks.append(
        (
            ~ids.isin(metadata["id"]).to_numpy() & (ids != "").to_numpy(),
            lambda r: f"study id {ids.iat[r]!r} is not in the metadata file {metadata_path}",
        )
    )
    raw.raise_first(checks)
    return pd.DataFrame(
        {
            "id": ids,
            "table_id": table_ids,
            "table_num": text["table_num"].str.strip(),
            "peak_id": text["peak_id"].str.strip(),
            **xyz,
        }
    ).reset_index(drop=True)


def _coordinate_checks(axis: str, values: np.ndarray, cells: pd.Series) -> list[_Check]:
    finite = np.isfinite(values)
    low, high = COORDINATE_LIMITS_MM[axis]
    with np.errstate(invalid="ignore"):
        beyond = finite & ((values < low) | (values > high))

    def not_finite(row: int) -> str:
        cell = cells.iat[row].strip()
        if cell == "":
            return f"{axis} is empty"
        if _is_float(cell):
            return f"{axis} = {cell!r} is not a finite number"
        return f"{axis} = {cell!r} is not a number"

    def too_far(row: int) -> str:
        return f"{axis}: {coordinate_problem(axis, float(values[row]))}"

    return [(~finite, not_finite), (beyond, too_far)]


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _whole_in_range(values: pd.Series, low: int, high: int) -> np.ndarray:
    array = values.to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        return np.isfinite(array) & (array == np.round(array)) & (array >= low) & (array <= high)


def _parse_spaces(cells: pd.Series) -> pd.Series:
    """Canonical space per row (NaN where unknown); parsing only the few distinct values."""
    mapping = {}
    for value in cells.unique().tolist():
        try:
            mapping[value] = Space.parse(value).value
        except ValueError:
            mapping[value] = None
    return cells.map(mapping)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """The column's text, or empty text for an optional column the file leaves out."""
    if name in frame.columns:
        return frame[name]
    return pd.Series([""] * len(frame), index=frame.index, dtype=str)


# --------------------------------------------------------------------------------------------
# Tab-separated text with line numbers
# --------------------------------------------------------------------------------------------


def _read_raw_table(path: Path, required: Sequence[str], what: str) -> _RawTable:
    """Parse a tab-separated file into text cells, keeping the line number of every row.

    Files without quote characters (the coordinates) take the fast path: pandas' C parser with
    quoting off, after a per-line field count done on the split text. Files with quotes (the
    metadata titles) go through the csv module, which knows where each quoted record starts.
    Blank lines are skipped in both.
    """
    text = read_text(path)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InputError(
            f"{what} file is empty; expected a tab-separated header with the columns "
            + ", ".join(required),
            path,
            1,
        )
    if '"' in text:
        return _read_quoted(path, text, required, what)
    return _read_unquoted(path, text, required, what)


def _read_unquoted(path: Path, text: str, required: Sequence[str], what: str) -> _RawTable:
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    blank = np.fromiter((not line or line.isspace() for line in lines), bool, len(lines))
    kept = np.flatnonzero(~blank)
    header_index, data_index = int(kept[0]), kept[1:]
    header = _check_header(lines[header_index].split("\t"), required, path, header_index + 1, what)
    counts = np.fromiter((lines[i].count("\t") + 1 for i in data_index), np.int64, len(data_index))
    _check_field_counts(counts, len(header), data_index + 1, path)
    frame = _parse_with_pandas(path, text, lines, header, header_index, data_index)
    return _RawTable(path, frame, data_index + 1)


def _parse_with_pandas(
    path: Path,
    text: str,
    lines: list[str],
    header: list[str],
    header_index: int,
    data_index: np.ndarray,
) -> pd.DataFrame:
    if len(data_index) == 0:
        return pd.DataFrame({name: pd.Series([], dtype=str) for name in header})
    contiguous = header_index == 0 and len(data_index) == len(lines) - 1
    body = text if contiguous else "\n".join(lines[i] for i in data_index)
    try:
        frame = pd.read_csv(
            io.StringIO(body),
            sep="\t",
            header=0 if contiguous else None,
            names=header,
            dtype=str,
            na_filter=False,
            quoting=csv.QUOTE_NONE,
            skip_blank_lines=False,
            engine="c",
        )
    except (ValueError, pd.errors.ParserError) as error:  # not expected after the field counts
        raise InputError(f"could not be parsed as tab-separated text ({error})", path) from None
    if len(frame) != len(data_index):
        raise InputError(
            f"could not be parsed as tab-separated text ({len(frame)} rows for "
            f"{len(data_index)} lines)",
            path,
        )
    return frame


def _read_quoted(path: Path, text: str, required: Sequence[str], what: str) -> _RawTable:
    records = read_delimited(text, "\t", path)
    header = _check_header(records.header, required, path, records.header_line, what)
    counts = np.array([len(row) for row in records.rows], dtype=np.int64)
    lines = np.array(records.lines, dtype=np.int64)
    _check_field_counts(counts, len(header), lines, path)
    frame = pd.DataFrame(records.rows, columns=header, dtype=str)
    if not records.rows:
        frame = pd.DataFrame({name: pd.Series([], dtype=str) for name in header})
    return _RawTable(path, frame, lines)


def _check_header(
    cells: list[str], required: Sequence[str], path: Path, line: int, what: str
) -> list[str]:
    names = [cell.strip() for cell in cells]
    missing = [name for name in required if name not in names]
    if missing:
        raise InputError(
            f"{what} header lacks the column(s) {', '.join(missing)} "
            f"(found: {', '.join(repr(n) for n in names[:10])}); the first line must be a "
            f"tab-separated header with at least {', '.join(required)}",
            path,
            line,
        )
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InputError(f"column {name!r} appears twice in the header", path, line)
        seen.add(name)
    return names


def _check_field_counts(counts: np.ndarray, expected: int, lines: np.ndarray, path: Path) -> None:
    wrong = np.flatnonzero(counts != expected)
    if len(wrong):
        row = int(wrong[0])
        raise InputError(
            f"expected {expected} tab-separated fields as in the header, found {int(counts[row])}",
            path,
            int(lines[row]),
        )


#: The Neurosynth v0.7 files the topic maps are built from (``tools/build_topic_maps.py``).
COORDINATES_FILE = "data-neurosynth_version-7_coordinates.tsv.gz"
METADATA_FILE = "data-neurosynth_version-7_metadata.tsv.gz"
LDA50_FEATURES_FILE = (
    "data-neurosynth_version-7_vocab-LDA50_source-abstract_type-weight_features.npz"
)
LDA50_VOCABULARY_FILE = "data-neurosynth_version-7_vocab-LDA50_vocabulary.txt"
TOPIC_INPUT_FILES = (COORDINATES_FILE, METADATA_FILE, LDA50_FEATURES_FILE, LDA50_VOCABULARY_FILE)


def neurosynth_folder(path: str | Path) -> Path:
    """The folder holding the v0.7 files: ``path`` itself or its ``neurosynth`` subfolder."""
    path = Path(path)
    for folder in (path, path / "neurosynth"):
        if (folder / COORDINATES_FILE).is_file():
            return folder
    raise FileNotFoundError(f"no Neurosynth v0.7 files ({COORDINATES_FILE}) in {path}")


def read_topic_files(path: str | Path) -> tuple[NeurosynthDatabase, np.ndarray, tuple[str, ...]]:
    """The database and its LDA50 topic weights (studies x topics, metadata order) and topic ids,
    from the v0.7 folder ``path`` (or its parent); the decoder joins them
    (:func:`neuroreview.decode.topic_inputs`)."""
    from scipy import sparse

    folder = neurosynth_folder(path)
    database = read_neurosynth(folder / COORDINATES_FILE, folder / METADATA_FILE)
    weights = sparse.load_npz(folder / LDA50_FEATURES_FILE).toarray().astype(np.float64)
    vocabulary = (folder / LDA50_VOCABULARY_FILE).read_text(encoding="utf-8")
    return database, weights, tuple(vocabulary.strip().splitlines())
