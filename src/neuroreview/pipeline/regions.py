"""The region-level synthesis as a stage: votes, pooled effects, convergence and what was left out.

One function computes it for ``neuroreview run`` and ``neuroreview regions`` alike, so the two
can never count differently; the pooled effect of each (region, measure) is computed once here
and handed on, so the report's forest plots draw the very pool the tables summarise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuroreview.io.layout import CLAIMS, EXCLUSIONS, REGION_TABLES, within

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from neuroreview.io.run_files import RunFiles
    from neuroreview.model import Study
    from neuroreview.synthesis.effects import PooledEffect

#: The kinds of result that vote unless asked otherwise: a drug's effect, nothing else.
DEFAULT_KINDS = ("drug_effect",)


@dataclass(frozen=True)
class RegionSynthesis:
    """The region step's results, as its tables are written: the vote table (split by facets
    when asked), the convergence table, the exclusions, the study-level effects and the label
    disagreements; ``pooled`` is the REML pool of each (region, measure) the convergence table
    summarises, which the report's forest plots draw."""

    votes: pd.DataFrame
    convergence: pd.DataFrame
    exclusions: pd.DataFrame
    effects: pd.DataFrame
    disagreements: pd.DataFrame
    pooled: dict[tuple[str, str], PooledEffect]
    n_studies: int
    n_regions_voted: int
    claims: pd.DataFrame | None = None
    files: list[str] = field(default_factory=list)

    def record(self, folder: str) -> dict[str, Any]:
        """What ``summary.json`` says of the step."""
        with_pool = self.convergence["measure"].map(lambda m: isinstance(m, str))
        return {
            "folder": folder,
            "files": list(self.files),
            "n_label_disagreements": len(self.disagreements),
            "n_studies": self.n_studies,
            "n_regions_voted": self.n_regions_voted,
            "n_convergence_rows": len(self.convergence),
            "n_pooled_effects": int(with_pool.sum()),
            "n_exclusions": len(self.exclusions),
        }


def synthesize_regions(
    studies: Sequence[Study],
    *,
    by: Sequence[str] = (),
    roll_up: bool = False,
    kinds: Sequence[str] = DEFAULT_KINDS,
    clusters: tuple[pd.DataFrame, np.ndarray] | None = None,
    claims: bool = False,
) -> RegionSynthesis:
    """Votes per region and direction (split ``by`` facets in the vote table; the convergence
    table always counts unsplit), pooled effects and, with ``clusters`` (a cluster table and its
    labelled volume), the overlap of surviving clusters with each region; ``claims`` adds the
    review's claims set against the data."""
    from neuroreview.synthesis.claims import claims_table
    from neuroreview.synthesis.convergence import (
        collect_effects,
        convergence_table,
        effects_table,
        pool_groups,
    )
    from neuroreview.synthesis.tables import disagreement_table, exclusion_table
    from neuroreview.synthesis.votes import count_votes

    unsplit = count_votes(studies, roll_up=roll_up, kinds=kinds)
    votes = count_votes(studies, by=list(by), roll_up=roll_up, kinds=kinds) if by else unsplit
    evidence = collect_effects(studies)
    pooled = pool_groups(evidence.inputs)
    table, volume = clusters if clusters is not None else (None, None)
    convergence = convergence_table(
        studies, votes=unsplit, clusters=table, cluster_volume=volume, pooled=pooled
    )
    return RegionSynthesis(
        votes=votes.table,
        convergence=convergence,
        exclusions=exclusion_table(unsplit.exclusions, evidence.exclusions),
        effects=effects_table(evidence),
        disagreements=disagreement_table(unsplit.disagreements),
        pooled=pooled,
        n_studies=len(studies),
        n_regions_voted=int(unsplit.table["region"].nunique()),
        claims=claims_table(studies) if claims else None,
    )


def write_regions(files: RunFiles, folder: str, synthesis: RegionSynthesis) -> RegionSynthesis:
    """The synthesis's tables into ``folder`` of ``files``; returns it with the files named."""
    from dataclasses import replace

    from neuroreview.io.region_tables import write_region_tables

    write_region_tables(
        files,
        folder,
        synthesis.votes,
        synthesis.convergence,
        synthesis.exclusions,
        synthesis.effects,
        synthesis.disagreements,
    )
    names = list(REGION_TABLES)
    if synthesis.claims is not None:
        files.write_text(within(folder, CLAIMS), synthesis.claims.to_csv(sep="\t", index=False))
        names.append(CLAIMS)
    return replace(synthesis, files=names)


def write_regions_folder(out: Path, synthesis: RegionSynthesis) -> RegionSynthesis:
    """The synthesis's tables into the folder ``out`` (``neuroreview regions --out``)."""
    from neuroreview.io.run_files import RunFiles

    return write_regions(RunFiles(out), "", synthesis)


def exclusions_file(out: Path) -> Path:
    return out / EXCLUSIONS


def read_clusters(folder: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """The surviving clusters of a ``neuroreview analyze`` folder, as coordinate evidence."""
    from neuroreview.io.maps import read_analysis_clusters

    return read_analysis_clusters(folder)
