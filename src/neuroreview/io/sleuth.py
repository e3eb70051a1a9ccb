"""Sleuth text files, as GingerALE and BrainMap write them: read into Studies and written back.

A Sleuth file is the lingua franca of coordinate-based meta-analysis: one ``// Reference=``
header naming the space, then experiments, each a block of ``//`` name lines, a
``// Subjects=N`` line and whitespace-separated ``x y z`` rows::

    // Reference=MNI
    // Smith et al., 2010: Ketamine > placebo
    // Subjects=12
    -10   20   30
    42    -8   -4

Experiments of one paper share the study part of their name, so they are grouped into one
:class:`~neuroreview.model.Study` the way NiMARE's ``convert_sleuth_to_dict`` groups them (the
name is split at the first ``:`` or ``;`` after a four-digit year); the same file therefore gives
the same study and experiment ids in NiMARE and here. Unlike NiMARE, every malformed line is
reported as ``file:line: sentence`` through :class:`~neuroreview.errors.InputError`, and the
writer refuses names it could not read back unchanged instead of writing an ambiguous file.

A publication year standing alone in the study name ("Smith et al., 2010") fills
``Study.year``, and ``// DOI=`` / ``// PubMedId=`` lines fill ``doi`` / ``pmid``; provenance
records where each came from.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neuroreview.errors import InputError
from neuroreview.io._source import read_text, split_lines
from neuroreview.io.atomic import atomic_write_text
from neuroreview.model import Analysis, Focus, Space, Study, first_repeated, validate_model
from neuroreview.model.study import coordinate_problem

__all__ = [
    "NO_COORDINATES",
    "NO_SAMPLE_SIZE",
    "UNKNOWN_SPACE",
    "SleuthLeftOut",
    "SleuthWriteResult",
    "format_sleuth",
    "parse_sleuth",
    "read_sleuth",
    "render_sleuth",
    "sleuth_writable",
    "split_experiment_name",
    "write_sleuth",
]

_REFERENCE = re.compile(r"^//\s*Reference\s*=\s*(.*?)\s*$", re.IGNORECASE)
_SUBJECTS = re.compile(r"^//\s*Subjects\s*=\s*(.*?)\s*$", re.IGNORECASE)
# "// Key=value" metadata lines (DOI=, PubMedId=...). A key is one word, so an experiment name
# such as "Smith 2010: A=B" is never mistaken for one.
_KEY_VALUE = re.compile(r"^//\s*([A-Za-z][A-Za-z0-9_.-]*)\s*=\s*(.*?)\s*$")
# A plain decimal number. float() alone would also accept "nan", "inf" and "1_000".
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_NON_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
# The same year pattern NiMARE uses, so study names split identically in both tools.
_YEAR = re.compile(r"(19|20)\d{2}")
# A publication year standing alone in a study name ("Smith et al., 2010", "Smith 2010b"); stricter
# than _YEAR so that "Study12000" or "n=2000" give no year.
_PUBLICATION_YEAR = re.compile(r"(?<![0-9A-Za-z])((?:19|20)\d{2})(?:[a-z])?(?![0-9A-Za-z])")
# Metadata keys that fill Study fields; every other key line is allowed and ignored.
_STUDY_KEYS = {"doi": "doi", "pubmedid": "pmid", "pmid": "pmid"}
# What a Sleuth header spells each space as (GingerALE writes "Talairach", NiMARE accepts it).
_HEADER_SPACE = {Space.MNI: "MNI", Space.TAL: "Talairach"}


# --------------------------------------------------------------------------------- reading


def read_sleuth(path: str | Path) -> list[Study]:
    """Read a Sleuth file into Studies, one per study name, experiments as Analyses."""
    return parse_sleuth(read_text(path), source=path)


def parse_sleuth(text: str, source: str | Path = "<text>") -> list[Study]:
    """Parse Sleuth ``text``; ``source`` names it in error messages and in provenance.

    A file holding only the Reference header gives an empty list: it is valid, just empty. A
    leading byte-order mark (text pasted from a file decoded as plain UTF-8) is ignored.
    """
    return _Parser(text.removeprefix("\ufeff"), source).parse()


def split_experiment_name(label: str) -> tuple[str, str]:
    """Split a Sleuth experiment label into ``(study name, experiment name)`` as NiMARE does.

    The split is at the first ``;`` or ``:`` after a four-digit year ("Smith et al., 2010:
    Working memory"), so colons in a journal title before the year do not split it; without a
    year, at the first ``;`` and failing that the first ``:``; with no separator the whole label
    is the study and the experiment is called ``analysis_1``. Mirroring NiMARE exactly keeps
    study ids identical whichever tool reads the file.
    """
    label = label.strip()
    if not label:
        return "", "analysis_1"
    year = _YEAR.search(label)
    if year is not None:
        positions = [p for p in (label.find(s, year.end()) for s in ";:") if p != -1]
        if positions:
            return _halves(label, min(positions))
    for separator in ";:":
        if separator in label:
            return _halves(label, label.index(separator))
    return label, "analysis_1"


def _halves(label: str, index: int) -> tuple[str, str]:
    left, right = label[:index].strip(), label[index + 1 :].strip()
    return left or label, right or "analysis_1"


@dataclass
class _Experiment:
    """One experiment as it is being read, with the line numbers errors must point at."""

    first_line: int
    name_parts: list[str] = field(default_factory=list)
    subjects: int | None = None
    subjects_line: int | None = None
    foci: list[Focus] = field(default_factory=list)
    keys: dict[str, tuple[str, int]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return " ".join(self.name_parts)

    def describe(self) -> str:
        return f"experiment '{self.label}'" if self.name_parts else "the experiment"


@dataclass
class _Group:
    """The experiments read so far for one study name."""

    first_line: int
    analyses: list[Analysis] = field(default_factory=list)
    analysis_lines: dict[str, int] = field(default_factory=dict)
    fields: dict[str, tuple[str, int]] = field(default_factory=dict)


class _Parser:
    """A line-by-line reader; each line kind has one method, so each error has one home."""

    def __init__(self, text: str, source: str | Path):
        self.lines = split_lines(text)
        self.source = source
        self.space = Space.UNKNOWN
        self.current: _Experiment | None = None
        self.groups: dict[str, _Group] = {}

    def error(self, message: str, line: int | None) -> InputError:
        return InputError(message, self.source, line)

    def parse(self) -> list[Study]:
        numbered = [(i, raw.strip()) for i, raw in enumerate(self.lines, start=1)]
        numbered = [(i, line) for i, line in numbered if line]
        if not numbered:
            raise self.error(
                "the file is empty; a Sleuth file starts with '// Reference=MNI' or "
                "'// Reference=Talairach'",
                1,
            )
        self.space = self._reference(*numbered[0])
        for number, line in numbered[1:]:
            if line.startswith("//"):
                self._header_line(number, line)
            else:
                self._coordinate_row(number, line)
        self._finish_current()
        return [self._study(name, group) for name, group in self.groups.items()]

    # -- the header line -------------------------------------------------------------------

    def _reference(self, number: int, line: str) -> Space:
        match = _REFERENCE.match(line)
        if match is None:
            raise self.error(
                f"expected the header '// Reference=MNI' or '// Reference=Talairach' as the "
                f"first line, found {_shorten(line)!r}",
                number,
            )
        return self._space_named(match.group(1), number)

    def _space_named(self, text: str, number: int) -> Space:
        try:
            space = Space.parse(text)
        except ValueError:
            space = Space.UNKNOWN
        if space is Space.UNKNOWN:
            raise self.error(
                f"unknown reference space {text!r}; a Sleuth file must use MNI or Talairach",
                number,
            )
        return space

    # -- '//' lines: names, Subjects, Key=value --------------------------------------------

    def _header_line(self, number: int, line: str) -> None:
        subjects = _SUBJECTS.match(line)
        if subjects is not None:
            self._subjects_line(number, subjects.group(1))
            return
        key_value = _KEY_VALUE.match(line)
        if key_value is not None:
            self._key_line(number, key_value.group(1), key_value.group(2))
            return
        self._name_line(number, line)

    def _name_line(self, number: int, line: str) -> None:
        current = self.current
        if current is None or current.foci or current.subjects is not None:
            self._finish_current()
            current = self.current = _Experiment(first_line=number)
        # NiMARE removes every '//' from a name line; doing the same keeps names identical.
        text = line.replace("//", "").strip()
        if text:
            current.name_parts.append(text)

    def _subjects_line(self, number: int, value: str) -> None:
        current = self.current
        if current is None or current.foci or not current.name_parts:
            raise self.error(
                "this '// Subjects=' line has no experiment name line above it; write "
                "'// Author, Year: Experiment' before it",
                number,
            )
        if current.subjects is not None:
            raise self.error(
                f"{current.describe()} has a second Subjects line (the first is on line "
                f"{current.subjects_line})",
                number,
            )
        current.subjects = self._subject_count(value, current, number)
        current.subjects_line = number

    def _subject_count(self, value: str, experiment: _Experiment, number: int) -> int:
        if not re.fullmatch(r"[+]?\d+", value):
            raise self.error(
                f"Subjects must be a whole number of subjects for {experiment.describe()}, "
                f"found {value!r}",
                number,
            )
        count = int(value)
        if count <= 0:
            raise self.error(
                f"Subjects must be at least 1 for {experiment.describe()}, found {count}", number
            )
        return count

    def _key_line(self, number: int, key: str, value: str) -> None:
        if key.lower() == "reference":
            # A repeated header (files pasted together) is fine if it names the same space.
            if self._space_named(value, number) is not self.space:
                raise self.error(
                    f"this Reference line names {value!r} but the file began with "
                    f"{_HEADER_SPACE[self.space]}; a Sleuth file holds coordinates in one space",
                    number,
                )
            return
        if self.current is None or self.current.foci:
            self._finish_current()
            self.current = _Experiment(first_line=number)
        self.current.keys[key.lower()] = (value, number)

    # -- coordinate rows ---------------------------------------------------------------------

    def _coordinate_row(self, number: int, line: str) -> None:
        current = self.current
        if current is None:
            raise self.error(
                "coordinates before any experiment; put an experiment name line and a "
                "'// Subjects=N' line above them",
                number,
            )
        if current.subjects is None:
            raise self.error(
                f"{current.describe()} has no '// Subjects=N' line before its coordinates", number
            )
        current.foci.append(self._focus(number, line))

    def _focus(self, number: int, line: str) -> Focus:
        tokens = line.split()
        if len(tokens) != 3:
            raise self.error(
                f"expected 3 coordinates (x y z) separated by spaces or tabs, found "
                f"{len(tokens)}: {_shorten(line)!r}",
                number,
            )
        for axis, token in zip("xyz", tokens, strict=True):
            if token.lower() in _NON_FINITE:
                raise self.error(f"{axis} coordinate {token!r} is not a finite number", number)
            if not _NUMBER.match(token):
                raise self.error(f"{axis} coordinate {_shorten(token)!r} is not a number", number)
        x, y, z = (float(token) for token in tokens)
        return validate_model(Focus, {"x": x, "y": y, "z": z}, source=self.source, line=number)

    # -- closing experiments and building studies ------------------------------------------

    def _finish_current(self) -> None:
        experiment, self.current = self.current, None
        if experiment is None:
            return
        if not experiment.name_parts:
            raise self.error(
                "experiment without a name line; start each experiment with "
                "'// Author, Year: Experiment'",
                experiment.first_line,
            )
        if experiment.subjects is None:
            raise self.error(
                f"{experiment.describe()} has no '// Subjects=N' line", experiment.first_line
            )
        if not experiment.foci:
            raise self.error(
                f"{experiment.describe()} has no coordinates after its Subjects line",
                experiment.subjects_line,
            )
        self._add_to_group(experiment)

    def _add_to_group(self, experiment: _Experiment) -> None:
        study_name, analysis_id = split_experiment_name(experiment.label)
        group = self.groups.setdefault(study_name, _Group(first_line=experiment.first_line))
        if analysis_id in group.analysis_lines:
            raise self.error(
                f"experiment '{analysis_id}' appears twice in study '{study_name}' (first on "
                f"line {group.analysis_lines[analysis_id]}); give each experiment of a study "
                "its own name",
                experiment.first_line,
            )
        group.analysis_lines[analysis_id] = experiment.first_line
        analysis = validate_model(
            Analysis,
            {
                "id": analysis_id,
                "name": analysis_id,
                "n_subjects": experiment.subjects,
                "space": self.space,
                "foci": experiment.foci,
            },
            source=self.source,
            line=experiment.first_line,
        )
        group.analyses.append(analysis)
        self._merge_study_keys(group, experiment, study_name)

    def _merge_study_keys(self, group: _Group, experiment: _Experiment, study_name: str) -> None:
        for key, (value, number) in experiment.keys.items():
            field_name = _STUDY_KEYS.get(key)
            if field_name is None or not value:
                continue
            known = group.fields.get(field_name)
            if known is not None and known[0] != value:
                raise self.error(
                    f"study '{study_name}' has {field_name} {value!r} here but {known[0]!r} on "
                    f"line {known[1]}",
                    number,
                )
            group.fields[field_name] = (value, number)

    def _study(self, name: str, group: _Group) -> Study:
        origin = f"sleuth:{Path(str(self.source)).name}"
        data: dict[str, object] = {
            "id": name,
            "analyses": group.analyses,
            "provenance": {"foci": origin},
        }
        year = _PUBLICATION_YEAR.search(name)
        if year is not None:
            # The only citation a Sleuth file carries; filters by year need it.
            data["year"] = int(year.group(1))
            data["provenance"] = {"foci": origin, "year": f"{origin} (study name)"}
        data |= {key: value for key, (value, _) in group.fields.items()}
        return validate_model(
            Study, data, source=self.source, line=group.first_line, what=f"study '{name}'"
        )


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class SleuthWriteResult:
    """What a write did: experiments written, the space used, and studies left out (and why not
    silently: they had region findings but no coordinates, which Sleuth cannot hold)."""

    n_experiments: int
    skipped_study_ids: tuple[str, ...]
    space: Space


#: Why :func:`sleuth_writable` leaves a study or an experiment out.
NO_COORDINATES = "no coordinates"
NO_SAMPLE_SIZE = "no sample size"
UNKNOWN_SPACE = "unknown coordinate space"


@dataclass(frozen=True)
class SleuthLeftOut:
    """A study (``analysis_id`` None: all of it) or one experiment a Sleuth file cannot hold."""

    study_id: str
    analysis_id: str | None
    reason: str


def sleuth_writable(studies: Iterable[Study]) -> tuple[list[Study], list[SleuthLeftOut]]:
    """Split ``studies`` into what a Sleuth file can hold and what it cannot, with the reason.

    A Sleuth experiment is coordinates in MNI or Talairach with ``// Subjects=N``; GingerALE and
    :func:`read_sleuth` both refuse an experiment without it, and neither guesses a space. So a
    study without analyses (region findings only, or nothing), an analysis in an unknown space
    and one without a sample size (neither its own nor its study's) are left out, not invented:
    an export of a mixed corpus then writes what it can and says exactly what it could not.
    Studies keep only their writable analyses.
    """
    writable: list[Study] = []
    left_out: list[SleuthLeftOut] = []
    for study in studies:
        problems = [(analysis, _analysis_problem(study, analysis)) for analysis in study.analyses]
        kept = [analysis for analysis, problem in problems if problem is None]
        if not study.analyses:
            left_out.append(SleuthLeftOut(study.id, None, NO_COORDINATES))
        elif not kept:
            reasons = dict.fromkeys(problem for _, problem in problems if problem)
            left_out.append(SleuthLeftOut(study.id, None, ", ".join(reasons)))
        else:
            if len(kept) < len(study.analyses):
                study = study.model_copy(update={"analyses": kept})
            writable.append(study)
            left_out += [SleuthLeftOut(study.id, a.id, p) for a, p in problems if p is not None]
    return writable, left_out


def _analysis_problem(study: Study, analysis: Analysis) -> str | None:
    problems = []
    if analysis.space is Space.UNKNOWN:
        problems.append(UNKNOWN_SPACE)
    if _sample_size(study, analysis) is None:
        problems.append(NO_SAMPLE_SIZE)
    return ", ".join(problems) or None


def _sample_size(study: Study, analysis: Analysis) -> int | None:
    """The analysis's sample size, else its study's: the rule the meta-analysis itself uses
    (:meth:`neuroreview.cbma.inputs.CoordinateSet.from_studies`), so GingerALE gets the same N."""
    return analysis.n_subjects or study.n_subjects


def write_sleuth(
    studies: Iterable[Study],
    path: str | Path,
    space: Space | str | None = None,
    method: str = "lancaster_pooled",
    decimals: int | None = None,
) -> SleuthWriteResult:
    """Write ``studies`` to ``path`` as one Sleuth file, atomically.

    All analyses must share one space unless ``space`` is given, in which case coordinates in the
    other space are converted with ``method`` (see :func:`neuroreview.space.transforms.convert`)
    and, if ``decimals`` is given, rounded to that many decimals (a transform's float noise such
    as 17.322400000000002 means nothing at millimetre precision). Coordinates already in the
    target space are written exactly as stored. Studies with region findings but no analyses
    are skipped and listed in the result; :func:`sleuth_writable` leaves out the rest.
    """
    text, result = render_sleuth(studies, space, method, decimals)
    _write_file(path, text)
    return result


def format_sleuth(
    studies: Iterable[Study],
    space: Space | str | None = None,
    method: str = "lancaster_pooled",
    decimals: int | None = None,
) -> str:
    """The Sleuth text :func:`write_sleuth` would write (same checks, same conversion)."""
    text, _ = render_sleuth(studies, space, method, decimals)
    return text


def render_sleuth(
    studies: Iterable[Study],
    space: Space | str | None = None,
    method: str = "lancaster_pooled",
    decimals: int | None = None,
) -> tuple[str, SleuthWriteResult]:
    """The text and result of :func:`write_sleuth` without writing a file (for standard output)."""
    studies = list(studies)
    _check_unique_study_ids(studies)
    writable, skipped = _writable_studies(studies)
    analyses = [(study, analysis) for study in writable for analysis in study.analyses]
    for study, analysis in analyses:
        _check_writable(study, analysis)
    if space is not None:
        _check_method(method)
    target = _target_space(analyses, space)
    blocks = [
        _experiment_block(study, analysis, target, method, decimals) for study, analysis in analyses
    ]
    text = "\n".join([f"// Reference={_HEADER_SPACE[target]}", "", *blocks])
    result = SleuthWriteResult(len(blocks), tuple(skipped), target)
    return text.rstrip("\n") + "\n", result


def _check_unique_study_ids(studies: list[Study]) -> None:
    repeated = first_repeated(s.id for s in studies)
    if repeated is not None:
        raise InputError(
            f"study id '{repeated}' appears twice; merge the two studies or rename one, "
            "because Sleuth groups experiments by study name"
        )


def _writable_studies(studies: list[Study]) -> tuple[list[Study], list[str]]:
    writable, skipped = [], []
    for study in studies:
        if study.analyses:
            writable.append(study)
        elif study.region_findings:
            skipped.append(study.id)
        else:
            raise InputError(
                f"study '{study.id}' has neither coordinate analyses nor region findings; "
                "there is nothing to write for it"
            )
    return writable, skipped


def _check_writable(study: Study, analysis: Analysis) -> None:
    where = f"study '{study.id}', analysis '{analysis.id}'"
    if analysis.space is Space.UNKNOWN:
        raise InputError(
            f"{where}: its coordinate space is unknown; set it to MNI or TAL before writing a "
            "Sleuth file"
        )
    if _sample_size(study, analysis) is None:
        raise InputError(
            f"{where}: the number of subjects is missing (on the analysis and on the study), and "
            "every Sleuth experiment needs a '// Subjects=N' line"
        )


def _target_space(analyses: list[tuple[Study, Analysis]], space: Space | str | None) -> Space:
    if space is not None:
        try:
            target = Space.parse(space)
        except ValueError as error:
            raise InputError(f"cannot write a Sleuth file in space {space!r}: {error}") from None
        if target is Space.UNKNOWN:
            raise InputError("a Sleuth file must be written in MNI or TAL space, not UNKNOWN")
        return target
    counts: dict[Space, int] = {}
    for _, analysis in analyses:
        counts[analysis.space] = counts.get(analysis.space, 0) + 1
    if len(counts) > 1:
        found = ", ".join(f"{s.value}: {n} analyses" for s, n in sorted(counts.items()))
        raise InputError(
            f"the analyses are in mixed spaces ({found}) but a Sleuth file holds one; pass "
            "space='MNI' (or space='TAL') to convert every coordinate into that space"
        )
    return next(iter(counts), Space.MNI)


def _check_method(method: str) -> None:
    """Refuse a misspelt method up front, even if no coordinate happens to need converting."""
    from neuroreview.space.transforms import TransformMethod

    try:
        TransformMethod(method)
    except ValueError:
        options = ", ".join(repr(m.value) for m in TransformMethod)
        raise InputError(
            f"unknown transform method {method!r} (expected one of: {options})"
        ) from None


def _experiment_block(
    study: Study, analysis: Analysis, target: Space, method: str, decimals: int | None
) -> str:
    xyz = _coordinates_in(study, analysis, target, method)
    if decimals is not None and analysis.space is not target:
        xyz = np.round(xyz, decimals)
    lines = [f"// {_label_for(study, analysis)}", f"// Subjects={_sample_size(study, analysis)}"]
    lines += ["\t".join(_number_text(v) for v in row) for row in xyz.tolist()]
    return "\n".join(lines) + "\n"


def _coordinates_in(study: Study, analysis: Analysis, target: Space, method: str) -> np.ndarray:
    xyz = np.array([[f.x, f.y, f.z] for f in analysis.foci], dtype=np.float64)
    if analysis.space is target:
        return xyz
    from neuroreview.space.transforms import convert

    try:
        converted = convert(xyz, analysis.space, target, method=method)
    except ValueError as error:
        raise InputError(f"study '{study.id}', analysis '{analysis.id}': {error}") from None
    for row, point in enumerate(converted.tolist()):
        for axis, value in zip("xyz", point, strict=True):
            problem = coordinate_problem(axis, value)
            if problem:
                raise InputError(
                    f"study '{study.id}', analysis '{analysis.id}': focus {row + 1} converted to "
                    f"{target.value}: {axis} {problem}; check its coordinates"
                )
    return converted


def _label_for(study: Study, analysis: Analysis) -> str:
    """The name line for an experiment, chosen so that reading it back gives the same ids.

    Study and analysis ids containing separators can make "study: analysis" split elsewhere
    (and NiMARE would then silently invent other ids), so both separators are tried and a
    name that neither writes unambiguously is refused with the reason.
    """
    where = f"study '{study.id}', analysis '{analysis.id}'"
    if any(c in study.id + analysis.id for c in "\r\n"):
        raise InputError(f"{where}: ids written to Sleuth must fit on one line")
    candidates = [f"{study.id}{separator} {analysis.id}" for separator in (":", ";")]
    for label in candidates:
        if _reads_back_as(label, study.id, analysis.id):
            return label
    read_as = split_experiment_name(candidates[0].replace("//", ""))
    raise InputError(
        f"{where}: this name cannot be written to Sleuth unambiguously (it would read back as "
        f"study '{read_as[0]}', experiment '{read_as[1]}'); rename the study or analysis so that "
        "the study id has no ':' or ';' after its year and neither contains '//' or starts "
        "with 'Key='"
    )


def _reads_back_as(label: str, study_id: str, analysis_id: str) -> bool:
    line = f"// {label}"
    if _SUBJECTS.match(line) or _KEY_VALUE.match(line):
        return False
    return split_experiment_name(line.replace("//", "")) == (study_id, analysis_id)


def _number_text(value: float) -> str:
    """Shortest text that reads back as exactly ``value``: '12' for whole numbers, else repr."""
    if not math.isfinite(value):
        raise InputError(f"cannot write the non-finite coordinate {value!r}")
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _write_file(path: str | Path, text: str) -> None:
    """Write through the shared write-then-rename helper; OS failures become InputErrors."""
    try:
        atomic_write_text(path, text)
    except OSError as error:
        raise InputError(f"cannot be written ({error.strerror or error})", path) from None
