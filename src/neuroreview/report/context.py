"""What a report shows, as plain data: the run's tables as text, its analyses and decodings.

Every number the report shows comes from a file of the run (``summary.json``, the
``analysis.json`` of each meta-analysis, the TSV tables), kept here as text and shown as
written, so the report and the tables beside it agree by construction and a reader can check
any number against its file. :mod:`neuroreview.pipeline.report_inputs` fills this model, from
what a run holds in memory or from a folder on disk; the report computes nothing from it.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuroreview.io import layout
from neuroreview.model.table import Table

if TYPE_CHECKING:
    from neuroreview.synthesis.effects import PooledEffect

__all__ = ["Analysis", "Context", "Decoded", "Table", "functional_topics"]

#: Where the report writes what it derives (figures, their tables, decodings).
REPORT_FOLDER = layout.REPORT_FOLDER
#: Topic kinds that name methods or anatomy, not what a region does: overview and headline skip them.
NOT_FUNCTIONS = ("method", "anatomy")


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
    #: The z map and the cluster-id image (NIfTI images), which the brain figures draw.
    z_image: Any = None
    cluster_image: Any = None

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
        path = layout.report_decoding_table(kind, slug)
        return cls(target, Table(path, rows[0], rows[1:]), kind, note)


def functional_topics(decoded: Decoded) -> list[dict[str, str]]:
    """The decoded table's rows whose topic names a function, best first (none without labels)."""
    if decoded.table is None or "label" not in decoded.table.columns:
        return []
    return [r for r in decoded.table.records() if r.get("kind") not in NOT_FUNCTIONS]


@dataclass(frozen=True)
class Context:
    """Everything the report shows, from one run: its files as text, and the tables derived
    from them (written beside the report) computed before the report is drawn."""

    out: Path
    summary: dict[str, Any]
    crosstab: Table
    analyses: list[Analysis]
    votes: Table
    convergence: Table
    exclusions: Table
    studies: list[dict[str, str]]
    #: Derived tables, written beside the report: studies by timing and population, by
    #: modality x population x timing, votes split by population group, exclusions by reason,
    #: and the best functional topics of each decoded target.
    timing: Table
    facets: Table
    votes_by_population: Table
    exclusion_counts: Table
    decoding_overview: Table
    #: The REML pool of each (region, measure) of the convergence table, with each study's
    #: weight: what the per-region forest plots draw.
    pooled_effects: dict[tuple[str, str], PooledEffect] = field(default_factory=dict)
    #: A screened corpus's PRISMA counts and agreement (``screening/prisma.json``), its flow
    #: diagram as SVG text, and the studies made from screened records traced to their search;
    #: None when the corpus was not screened.
    prisma: dict[str, Any] | None = None
    prisma_svg: str | None = None
    screening_studies: Table | None = None
    decoding: list[Decoded] = field(default_factory=list)
    #: The files the report was built from, hashed in its provenance.
    inputs: list[Path] = field(default_factory=list)
    #: The review's claims set against the data (``regions/claims.tsv``) and its questions asked
    #: separately (``questions/questions.tsv``); None for runs written before them.
    claims: Table | None = None
    questions: Table | None = None
    #: The review's contrasts (``contrasts/contrasts.tsv``) and the clusters of each one run;
    #: None for runs written before them.
    contrasts: Table | None = None
    contrast_clusters: dict[str, Table] = field(default_factory=dict)

    def derived_tables(self) -> list[Table]:
        """The tables the report writes beside itself; decodings a caller handed in (not those
        a run wrote to ``decode/``, already on disk) among them."""
        handed_in = [
            d.table
            for d in self.decoding
            if d.table is not None and d.table.path.startswith(f"{REPORT_FOLDER}/")
        ]
        return [
            self.timing,
            self.votes_by_population,
            self.exclusion_counts,
            self.decoding_overview,
            self.facets,
            *handed_in,
        ]

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
