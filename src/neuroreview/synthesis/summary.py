"""A corpus at a glance: how many studies of which modality in which population.

The first table any reviewer writes (it is Table 1 of most reviews), so it is computed once here and
shared by the CLI, the report and the web app.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from neuroreview.model import Direction, Modality, Population, Study


@dataclass(frozen=True)
class CorpusSummary:
    n_studies: int
    n_analyses: int
    n_foci: int
    n_region_findings: int
    n_coordinate_studies: int
    n_region_studies: int
    #: (modality, population) -> number of studies
    by_modality_population: dict[tuple[Modality, Population], int] = field(default_factory=dict)
    #: direction -> number of coordinate analyses
    analyses_by_direction: dict[Direction, int] = field(default_factory=dict)

    @property
    def modalities(self) -> list[Modality]:
        return [m for m in Modality if any(k[0] is m for k in self.by_modality_population)]

    @property
    def populations(self) -> list[Population]:
        return [p for p in Population if any(k[1] is p for k in self.by_modality_population)]

    def crosstab_rows(self) -> list[list[str | int]]:
        """Rows of modality x population counts with totals, header first, for TSVs and tables."""
        populations = self.populations
        rows: list[list[str | int]] = [["modality", *[p.value for p in populations], "total"]]
        for modality in self.modalities:
            counts = [self.by_modality_population.get((modality, p), 0) for p in populations]
            rows.append([modality.value, *counts, sum(counts)])
        totals = [
            sum(self.by_modality_population.get((m, p), 0) for m in self.modalities)
            for p in populations
        ]
        rows.append(["total", *totals, sum(totals)])
        return rows

    def to_dict(self) -> dict:
        return {
            "n_studies": self.n_studies,
            "n_analyses": self.n_analyses,
            "n_foci": self.n_foci,
            "n_region_findings": self.n_region_findings,
            "n_coordinate_studies": self.n_coordinate_studies,
            "n_region_studies": self.n_region_studies,
            "studies_by_modality_population": [
                {"modality": m.value, "population": p.value, "studies": n}
                for (m, p), n in sorted(self.by_modality_population.items())
            ],
            "analyses_by_direction": {d.value: n for d, n in self.analyses_by_direction.items()},
        }


def summarize_corpus(studies: Sequence[Study]) -> CorpusSummary:
    pairs = Counter((s.modality, s.population) for s in studies)
    directions = Counter(a.direction for s in studies for a in s.analyses)
    return CorpusSummary(
        n_studies=len(studies),
        n_analyses=sum(len(s.analyses) for s in studies),
        n_foci=sum(s.n_foci for s in studies),
        n_region_findings=sum(len(s.region_findings) for s in studies),
        n_coordinate_studies=sum(1 for s in studies if s.analyses),
        n_region_studies=sum(1 for s in studies if s.region_findings),
        by_modality_population=dict(pairs),
        analyses_by_direction={d: directions[d] for d in Direction if directions[d]},
    )
