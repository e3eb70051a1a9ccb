"""Read a run's output folder into a plain data model for the report.

Every number the report shows comes from a file in the folder (``summary.json``, the
``analysis.json`` of each meta-analysis, the TSV tables), read here as text and shown as written,
so the report and the tables beside it agree by construction and a reader can check any number
against its file. Tables the report derives (the population split of the votes, the timing
crosstab) are computed here from those files and written beside the report by the builder.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuroreview.cbma.registry import label
from neuroreview.errors import InputError
from neuroreview.io import layout
from neuroreview.io.region_tables import ID_SEPARATOR

#: The meta-analyses a run writes, in report order, with the name readers see.
METHODS = {key: label(key) for key in ("ale", "mkda")}
SUMMARY = layout.RUN_RECORD
CROSSTAB = layout.CROSSTAB
STUDIES = f"{layout.CORPUS_FOLDER}/studies.tsv"
REGIONS = layout.REGIONS_FOLDER
#: Where optional inputs of later issues are looked for; the report shows them when present.
CONTRIBUTIONS = layout.CONTRIBUTIONS
PRISMA = "screening/prisma.json"
#: Where the report writes what it derives (figures, their tables, decodings).
REPORT_FOLDER = layout.REPORT_FOLDER
DECODING_FOLDER = f"{REPORT_FOLDER}/decoding"
#: The index of the decodings ``neuroreview run`` writes (one row per map, cluster or region).
DECODE_INDEX = f"{layout.DECODE_FOLDER}/{layout.DECODE_INDEX}"
DECODING_OVERVIEW = f"{REPORT_FOLDER}/decoding_overview.tsv"
#: Topic kinds that name methods or anatomy, not what a region does: overview and headline skip them.
NOT_FUNCTIONS = ("method", "anatomy")
#: Tables the report derives, written beside it (paths relative to the output folder).
TIMING_TABLE = f"{REPORT_FOLDER}/studies_by_timing_population.tsv"
FACETS_TABLE = f"{REPORT_FOLDER}/studies_by_modality_population_timing.tsv"
POPULATION_TABLE = f"{REPORT_FOLDER}/votes_by_region_direction_population.tsv"


@dataclass(frozen=True)
class Table:
    """A TSV as text: the header and the rows, each cell exactly as written in the file.

    ``path`` is relative to the output folder, so the report can name (and link) the file every
    table comes from.
    """

    path: str
    columns: list[str]
    rows: list[list[str]]

    def column(self, name: str) -> list[str]:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def records(self) -> list[dict[str, str]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def select(self, columns: list[str]) -> Table:
        """The same rows with only ``columns`` (in that order), for a narrower HTML table."""
        indices = [self.columns.index(c) for c in columns]
        return Table(self.path, list(columns), [[row[i] for i in indices] for row in self.rows])

    def to_tsv(self) -> str:
        lines = ["\t".join(self.columns)] + ["\t".join(row) for row in self.rows]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Analysis:
    """One coordinate meta-analysis of the run: run (with its record and clusters) or skipped."""

    method: str
    label: str
    status: str
    reason: str = ""
    step: dict[str, Any] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)
    clusters: Table | None = None
    #: Per-study contributions to each cluster, when a later issue writes them (a hook: the
    #: section shows them only when the file exists).
    contributions: Table | None = None

    @property
    def run(self) -> bool:
        return self.status == "run"

    @property
    def n_clusters(self) -> int:
        return int(self.step.get("n_clusters", 0)) if self.run else 0

    def peaks(self) -> list[dict[str, str]]:
        """The main peak of each cluster (sub-peaks left out), in table order."""
        if self.clusters is None:
            return []
        return [r for r in self.clusters.records() if r.get("subpeak", "False") != "True"]


@dataclass(frozen=True)
class Decoded:
    """A functional decoding of one map, cluster or region, ranked topics first.

    Read from the ``decode/`` folder a run writes (its ``index.tsv`` lists every target), or
    passed in by a caller: the report never runs a decoder itself, so ``neuroreview report``
    shows what the run found and the statistical core and the report stay apart. A target that
    could not be decoded has no table, only its ``note`` saying why.
    """

    target: str
    table: Table | None
    kind: str = "cluster"
    note: str = ""
    #: How many topics the page shows; the whole ranking stays in the file.
    shown: int = 5

    #: Columns shown per kind of target: the statistic that ranks the topics comes first.
    VIEW = {
        "map": ["rank", "label", "kind", "r"],
        "region": [
            "rank",
            "label",
            "kind",
            "z_association",
            "p_association",
            "prob_topic_given_region",
            "n_selected_topic",
            "n_topic",
        ],
    }

    @property
    def view(self) -> Table | None:
        """The top topics with the columns that matter for this kind of target."""
        if self.table is None:
            return None
        wanted = self.VIEW["map" if self.kind == "map" else "region"]
        # A caller's own table (other columns) is shown whole.
        columns = [c for c in wanted if c in self.table.columns] or list(self.table.columns)
        top = Table(self.table.path, self.table.columns, self.table.rows[: self.shown])
        return top.select(columns)

    @property
    def truncated(self) -> bool:
        return self.table is not None and len(self.table.rows) > self.shown

    @classmethod
    def from_frame(cls, target: str, frame: Any, kind: str = "cluster", note: str = "") -> Decoded:
        """A decoder's ranked pandas table as text cells (six significant digits, as every TSV
        of the run), to be written beside the report as ``report/decoding/<target>.tsv``."""
        text = frame.to_csv(sep="\t", index=False, na_rep="", float_format="%.6g")
        rows = list(csv.reader(text.splitlines(), delimiter="\t"))
        slug = "".join(c if c.isalnum() else "_" for c in target.lower()).strip("_") or "target"
        path = f"{DECODING_FOLDER}/{kind}_{slug}.tsv"
        return cls(target, Table(path, rows[0], rows[1:]), kind, note)


def functional_topics(decoded: Decoded) -> list[dict[str, str]]:
    """The decoded table's rows whose topic names a function, best first (none without labels)."""
    if decoded.table is None or "label" not in decoded.table.columns:
        return []
    return [r for r in decoded.table.records() if r.get("kind") not in NOT_FUNCTIONS]


def decoding_overview(decodings: list[Decoded], top: int = 3) -> Table:
    """One row per target: its best ``top`` functional topics and the statistic ranking them."""
    columns = ["target", "kind", "statistic"]
    for rank in range(1, top + 1):
        columns += [f"topic_{rank}", f"value_{rank}"]
    rows = []
    for decoded in decodings:
        topics = functional_topics(decoded)
        if not topics:
            continue
        statistic = "r" if decoded.kind == "map" else "z_association"
        if statistic not in topics[0]:
            continue
        row = [decoded.target, decoded.kind, statistic]
        for rank in range(top):
            if rank < len(topics):
                row += [topics[rank]["label"], topics[rank][statistic]]
            else:
                row += ["", ""]
        rows.append(row)
    return Table(DECODING_OVERVIEW, columns, rows)


def read_decodings(out: Path) -> tuple[list[Decoded], list[Path]]:
    """The decodings a run wrote (``decode/index.tsv`` and its tables), and the files read."""
    if not (out / DECODE_INDEX).is_file():
        return [], []
    index = read_tsv(out, DECODE_INDEX)
    decoded, used = [], [out / DECODE_INDEX]
    for entry in index.records():
        table = read_tsv(out, entry["file"]) if entry["file"] else None
        if table is not None:
            used.append(out / table.path)
        decoded.append(Decoded(entry["target"], table, entry["kind"], entry["note"]))
    return decoded, used


@dataclass(frozen=True)
class Context:
    """Everything the report shows, read from one output folder."""

    out: Path
    summary: dict[str, Any]
    crosstab: Table
    timing: Table
    analyses: list[Analysis]
    votes: Table
    convergence: Table
    exclusions: Table
    votes_by_population: Table
    studies: list[dict[str, str]]
    prisma: dict[str, Any] | None = None
    decoding: list[Decoded] = field(default_factory=list)
    inputs: list[Path] = field(default_factory=list)
    #: Study-level effect sizes behind each pooled row (``regions/effects.tsv``; older runs
    #: have none): what the per-region forest plots draw.
    effects: Table | None = None
    #: The review's claims set against the data (``regions/claims.tsv``) and its questions asked
    #: separately (``questions/questions.tsv``); None for runs written before them.
    claims: Table | None = None
    questions: Table | None = None

    @property
    def selection(self) -> dict[str, Any]:
        return self.summary["steps"]["select"]

    @property
    def settings(self) -> dict[str, Any]:
        return self.summary["settings"]

    @property
    def regions_step(self) -> dict[str, Any]:
        return self.summary["steps"].get("regions", {})

    @property
    def drug(self) -> str:
        """The drug the corpus studies (the most common), for the question."""
        drugs = Counter(s.get("drug", "") for s in self.studies if s.get("drug"))
        return drugs.most_common(1)[0][0] if drugs else "the drug"

    def analysis(self, method: str) -> Analysis | None:
        return next((a for a in self.analyses if a.method == method), None)

    def pooled(self) -> list[dict[str, str]]:
        """Convergence rows with a pooled effect size."""
        return [r for r in self.convergence.records() if r.get("measure")]


# --- reading -------------------------------------------------------------------------------


def _need(path: Path) -> Path:
    if not path.is_file():
        raise InputError("not found; give a folder written by `neuroreview run`", source=path)
    return path


def read_tsv(out: Path, relative: str) -> Table:
    """A TSV of the run as text cells; a missing or ragged file is an error naming it."""
    path = _need(out / relative)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    if not rows:
        raise InputError("empty table; expected a header line", source=path)
    header, body = rows[0], rows[1:]
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise InputError(f"{len(row)} cells, the header has {len(header)}", path, number)
    return Table(relative, header, body)


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(_need(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InputError(f"not valid JSON: {error}", source=path) from error


def _analysis(out: Path, method: str, step: dict[str, Any] | None) -> tuple[Analysis, list[Path]]:
    label = METHODS[method]
    if step is None:
        return Analysis(method, label, "absent", "not part of this run"), []
    if step.get("status") != "run":
        return Analysis(method, label, "skipped", step.get("reason", "")), []
    folder = step.get("folder", method)
    record = read_json(out / folder / layout.ANALYSIS_RECORD)
    clusters = read_tsv(out, f"{folder}/{layout.CLUSTER_TABLE}")
    contributions = (
        read_tsv(out, f"{folder}/{CONTRIBUTIONS}")
        if (out / folder / CONTRIBUTIONS).is_file()
        else None
    )
    used = [out / folder / layout.ANALYSIS_RECORD, out / clusters.path]
    used += [out / folder / layout.Z_MAP, out / folder / layout.CLUSTER_IMAGE]
    for path in used[2:]:
        _need(path)
    return Analysis(method, label, "run", "", step, record, clusters, contributions), used


def timing_crosstab(studies: list[dict[str, str]]) -> Table:
    """Studies by timing (rows) and population (columns), with totals, like the modality table.

    Timings and populations keep the model's order, so the table reads the same in every review.
    """
    from neuroreview.model import Population, Timing

    pairs = Counter(
        (s.get("timing") or "unknown", s.get("population") or "unknown") for s in studies
    )
    timings = [t.value for t in Timing if any(k[0] == t.value for k in pairs)]
    timings += sorted({k[0] for k in pairs} - set(timings))
    populations = [p.value for p in Population if any(k[1] == p.value for k in pairs)]
    populations += sorted({k[1] for k in pairs} - set(populations))
    rows = []
    for timing in timings:
        counts = [pairs.get((timing, p), 0) for p in populations]
        rows.append([timing, *map(str, counts), str(sum(counts))])
    totals = [sum(pairs.get((t, p), 0) for t in timings) for p in populations]
    rows.append(["total", *map(str, totals), str(sum(totals))])
    return Table(TIMING_TABLE, ["timing", *populations, "total"], rows)


def corpus_facets(studies: list[dict[str, str]]) -> Table:
    """Studies by modality x population x timing, one row per combination that occurs.

    The two crosstabs show two facets at a time; this long table shows all three together, in
    the model's order of each vocabulary, so a reader sees, say, how many resting-state studies
    of patients were scanned days after the dose.
    """
    from neuroreview.model import Modality, Population, Timing

    def key(value: str, vocabulary) -> tuple[int, str]:
        order = [member.value for member in vocabulary]
        return (order.index(value), "") if value in order else (len(order), value)

    triples = Counter(
        tuple(s.get(facet) or "unknown" for facet in ("modality", "population", "timing"))
        for s in studies
    )
    ordered = sorted(
        triples,
        key=lambda t: (key(t[0], Modality), key(t[1], Population), key(t[2], Timing)),
    )
    rows = [[*triple, str(triples[triple])] for triple in ordered]
    return Table(FACETS_TABLE, ["modality", "population", "timing", "studies"], rows)


def votes_by_population(convergence: Table, studies: list[dict[str, str]]) -> Table:
    """Studies per region, direction and population group, from the convergence table's ids.

    Population is a property of a study, so splitting the study ids behind each vote count by the
    study's population group gives exactly the counts ``count_votes(by=["population"])`` would,
    without recomputing any vote: the heatmap and the tables cannot disagree.
    """
    from neuroreview.model import Population
    from neuroreview.synthesis.votes import DIRECTIONS, PopulationGroup, population_group

    group_of = {}
    for study in studies:
        try:
            population = Population.parse(study.get("population") or "unknown")
        except ValueError:
            population = Population.UNKNOWN
        group_of[study["study_id"]] = population_group(population).value
    rows, seen = [], set()
    for record in convergence.records():
        # A region with pooled effects in several measures has one row per measure, the vote
        # columns repeated: count it once.
        if record["region"] in seen:
            continue
        seen.add(record["region"])
        for direction in DIRECTIONS:
            ids = [i for i in record[f"{direction.value}_studies"].split(ID_SEPARATOR) if i]
            counts = Counter(group_of.get(i, PopulationGroup.UNKNOWN.value) for i in ids)
            for group in PopulationGroup:
                if counts[group.value]:
                    rows.append(
                        [record["region"], direction.value, group.value, str(counts[group.value])]
                    )
    return Table(POPULATION_TABLE, ["region", "direction", "population", "studies"], rows)


def load_context(
    out: Path, decoding: list[Decoded] | None = None, summary: dict[str, Any] | None = None
) -> Context:
    """Read the output folder ``out`` of ``neuroreview run``; errors name the missing file."""
    out = Path(out)
    if not out.is_dir():
        raise InputError("no such folder; run `neuroreview run` first", source=out)
    if summary is None:
        summary = read_json(out / SUMMARY)
    if "steps" not in summary or "select" not in summary.get("steps", {}):
        raise InputError("not a `neuroreview run` summary (no steps)", source=out / SUMMARY)
    crosstab = read_tsv(out, CROSSTAB)
    studies_table = read_tsv(out, STUDIES)
    studies = studies_table.records()
    inputs = [out / CROSSTAB, out / STUDIES]
    for name in ("foci.tsv", "region_findings.tsv"):
        if (out / "corpus" / name).is_file():
            inputs.append(out / "corpus" / name)
    analyses = []
    for method in METHODS:
        analysis, used = _analysis(out, method, summary["steps"].get(method))
        analyses.append(analysis)
        inputs += used
    folder = summary["steps"].get("regions", {}).get("folder", REGIONS)
    votes = read_tsv(out, f"{folder}/{layout.VOTES}")
    convergence = read_tsv(out, f"{folder}/{layout.CONVERGENCE}")
    exclusions = read_tsv(out, f"{folder}/{layout.EXCLUSIONS}")
    effects = None
    if (out / folder / layout.EFFECTS).is_file():
        effects = read_tsv(out, f"{folder}/{layout.EFFECTS}")
        inputs.append(out / effects.path)
    inputs += [out / t.path for t in (votes, convergence, exclusions)]
    claims = questions = None
    if (out / folder / layout.CLAIMS).is_file():
        claims = read_tsv(out, f"{folder}/{layout.CLAIMS}")
        inputs.append(out / claims.path)
    questions_folder = summary["steps"].get("questions", {}).get("folder", layout.QUESTIONS_FOLDER)
    if (out / questions_folder / layout.QUESTIONS_TABLE).is_file():
        questions = read_tsv(out, f"{questions_folder}/{layout.QUESTIONS_TABLE}")
        inputs.append(out / questions.path)
    if decoding is None:
        decoding, used = read_decodings(out)
        inputs += used
    prisma = read_json(out / PRISMA) if (out / PRISMA).is_file() else None
    if prisma is not None:
        inputs.append(out / PRISMA)
    return Context(
        out=out,
        summary=summary,
        crosstab=crosstab,
        timing=timing_crosstab(studies),
        analyses=analyses,
        votes=votes,
        convergence=convergence,
        exclusions=exclusions,
        effects=effects,
        claims=claims,
        questions=questions,
        votes_by_population=votes_by_population(convergence, studies),
        studies=studies,
        prisma=prisma,
        decoding=list(decoding or []),
        inputs=inputs,
    )
