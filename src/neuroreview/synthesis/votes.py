"""Region-level vote counting: how many studies report an increase, a decrease or no change in
each canonical region, with a sign test per region.

Many ketamine studies report a region and a direction but no peak or effect size (PET, MRS,
ROI fMRI), so counting studies per region and direction is the one synthesis that can use all of
them. It counts *studies*, not findings or foci: a study that reports the sgACC twice counts once
for "sgacc, increase", so prolific papers do not outvote others.

Two kinds of evidence vote:

* region findings, through the canonical region their text maps to (:mod:`.regions`);
* coordinate analyses, for every region one of their foci lies in (Talairach converted to MNI),
  with the analysis's direction. Locating a focus is injectable (``region_of_focus``); by default
  the AAL3 atlas names it.

Nothing is guessed: unmapped region names, unknown directions, unknown coordinate spaces and
analyses with no focus in a vocabulary region are returned as exclusions with their reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd
from scipy import stats

from neuroreview.model import Direction, Population, Space, Study, Timing
from neuroreview.space import tal_to_mni
from neuroreview.synthesis.regions import Region, ancestors, canonical_for_aal3, canonical_region

__all__ = [
    "DIRECTIONS",
    "FACETS",
    "Exclusion",
    "ExclusionReason",
    "PopulationGroup",
    "RegionOfFocus",
    "TimingGroup",
    "Vote",
    "VoteCount",
    "atlas_region_of_focus",
    "collect_votes",
    "count_votes",
    "population_group",
    "timing_group",
]

#: The directions that vote; ``Direction.UNKNOWN`` is excluded, never counted.
DIRECTIONS = (Direction.INCREASE, Direction.DECREASE, Direction.NO_CHANGE)
#: The study attributes a table can be split by.
FACETS = ("modality", "population", "timing")

#: MNI (x, y, z) in mm -> the canonical region it lies in, or None.
RegionOfFocus = Callable[[tuple[float, float, float]], Region | None]


class PopulationGroup(StrEnum):
    """Healthy volunteers vs patients: ketamine's effects may differ by diagnosis, so the review
    compares the two. Chronic recreational users are neither and go to ``other``."""

    HEALTHY = "healthy"
    PATIENTS = "patients"
    OTHER = "other"
    UNKNOWN = "unknown"


class TimingGroup(StrEnum):
    """Acute (scanned during the dose) vs later (hours to weeks after it): the psychotomimetic
    state and the antidepressant window are different questions. Baseline (scanned only before
    the dose) findings predict response; they are not drug effects and are kept apart."""

    BASELINE = "baseline"
    ACUTE = "acute"
    LATER = "later"
    UNKNOWN = "unknown"


def population_group(population: Population) -> PopulationGroup:
    if population is Population.HEALTHY:
        return PopulationGroup.HEALTHY
    if population.is_patient:
        return PopulationGroup.PATIENTS
    if population is Population.UNKNOWN:
        return PopulationGroup.UNKNOWN
    return PopulationGroup.OTHER


def timing_group(timing: Timing) -> TimingGroup:
    """Acute: during or just after dosing; later: hours to weeks after; baseline: before it."""
    if timing is Timing.BEFORE:
        return TimingGroup.BASELINE
    if timing in (Timing.DURING, Timing.JUST_AFTER):
        return TimingGroup.ACUTE
    if timing is Timing.UNKNOWN:
        return TimingGroup.UNKNOWN
    return TimingGroup.LATER


class ExclusionReason(StrEnum):
    UNMAPPED_REGION = "unmapped region"
    UNKNOWN_DIRECTION = "unknown direction"
    UNKNOWN_SPACE = "unknown coordinate space"
    NO_REGION = "no focus in a vocabulary region"


@dataclass(frozen=True)
class Exclusion:
    """Evidence that could not vote, and why; ``region`` is set when it was known."""

    study_id: str
    item: str
    reason: ExclusionReason
    region: str | None = None


@dataclass(frozen=True)
class Vote:
    """One study's vote for one region and direction, with the facets it can be split by."""

    study_id: str
    region: str
    direction: Direction
    modality: str
    population: str
    timing: str


@dataclass(frozen=True)
class VoteCount:
    """The vote table, the studies behind each cell, and everything excluded.

    ``table`` has one row per (facets..., region): counts of studies per direction, ``n_studies``,
    the two-sided sign test of increases vs decreases (``p_sign``; NaN when neither occurs) and
    its Benjamini-Hochberg adjustment across the regions of the same facet group (``q_bh``).
    ``studies`` maps (facet values..., region, direction) to the sorted study ids counted there.
    """

    table: pd.DataFrame
    studies: dict[tuple[str, ...], tuple[str, ...]]
    exclusions: tuple[Exclusion, ...]

    def excluded(self, reason: ExclusionReason) -> list[Exclusion]:
        return [e for e in self.exclusions if e.reason is reason]


def atlas_region_of_focus(xyz: tuple[float, float, float]) -> Region | None:
    """The canonical region of the AAL3 label at an MNI point (nearest label within 5 mm)."""
    from neuroreview.space.atlas import label_point

    return canonical_for_aal3(label_point(xyz).name)


def _finding_votes(study: Study, exclusions: list[Exclusion]) -> Iterable[tuple[str, Direction]]:
    for finding in study.region_findings:
        texts = [t for t in (finding.region, finding.region_raw) if t]
        region = next((r for r in map(canonical_region, texts) if r is not None), None)
        if region is None:
            exclusions.append(Exclusion(study.id, finding.region, ExclusionReason.UNMAPPED_REGION))
        elif finding.direction is Direction.UNKNOWN:
            exclusions.append(
                Exclusion(study.id, finding.region, ExclusionReason.UNKNOWN_DIRECTION, region.id)
            )
        else:
            yield region.id, finding.direction


def _analysis_votes(
    study: Study, region_of_focus: RegionOfFocus, exclusions: list[Exclusion]
) -> Iterable[tuple[str, Direction]]:
    for analysis in study.analyses:
        if analysis.space is Space.UNKNOWN:
            exclusions.append(Exclusion(study.id, analysis.id, ExclusionReason.UNKNOWN_SPACE))
            continue
        points = np.array([[f.x, f.y, f.z] for f in analysis.foci], dtype=np.float64)
        if analysis.space is Space.TAL:
            points = tal_to_mni(points)
        located = {region_of_focus(tuple(float(v) for v in point)) for point in points}
        regions = sorted(r.id for r in located if r is not None)
        if not regions:
            exclusions.append(Exclusion(study.id, analysis.id, ExclusionReason.NO_REGION))
        elif analysis.direction is Direction.UNKNOWN:
            exclusions.extend(
                Exclusion(study.id, analysis.id, ExclusionReason.UNKNOWN_DIRECTION, region)
                for region in regions
            )
        else:
            yield from ((region, analysis.direction) for region in regions)


def collect_votes(
    studies: Sequence[Study],
    region_of_focus: RegionOfFocus | None = None,
    roll_up: bool = False,
) -> tuple[list[Vote], list[Exclusion]]:
    """Every study's distinct (region, direction) votes, and the evidence excluded.

    ``region_of_focus`` defaults to the AAL3 atlas (read only if some study has foci). With
    ``roll_up`` a vote also counts for each ancestor region (sgACC -> ACC -> cingulate ->
    limbic), still once per study.
    """
    locate = atlas_region_of_focus if region_of_focus is None else region_of_focus
    votes: list[Vote] = []
    exclusions: list[Exclusion] = []
    for study in studies:
        pairs = set(_finding_votes(study, exclusions))
        pairs |= set(_analysis_votes(study, locate, exclusions))
        if roll_up:
            pairs |= {(a.id, d) for region, d in pairs for a in ancestors(region)}
        facets = (
            study.modality.value,
            population_group(study.population).value,
            timing_group(study.timing).value,
        )
        votes.extend(Vote(study.id, r, d, *facets) for r, d in sorted(pairs))
    return votes, exclusions


def _sign_test(increase: int, decrease: int) -> float:
    """Two-sided exact binomial test of increases vs decreases (no-change votes do not enter)."""
    n = increase + decrease
    return stats.binomtest(increase, n, 0.5).pvalue if n else float("nan")


def _bh(p_values: pd.Series) -> pd.Series:
    """Benjamini-Hochberg q-values over the finite p-values; NaN stays NaN."""
    q = pd.Series(np.nan, index=p_values.index)
    finite = p_values.notna()
    if finite.any():
        q[finite] = stats.false_discovery_control(p_values[finite].to_numpy(), method="bh")
    return q


def count_votes(
    studies: Sequence[Study],
    by: Sequence[str] = (),
    region_of_focus: RegionOfFocus | None = None,
    roll_up: bool = False,
) -> VoteCount:
    """The region x direction table of study counts, split by the facets in ``by`` (any of
    :data:`FACETS`), with a sign test per row and BH correction across regions per facet group.

    A map of where the evidence lies, not an effect estimate: every study weighs the same
    whatever its size or effect (see docs/regions.md).
    """
    unknown = [f for f in by if f not in FACETS]
    if unknown:
        raise ValueError(f"cannot split votes by {unknown}; choose from {list(FACETS)}")
    facets = list(by)
    votes, exclusions = collect_votes(studies, region_of_focus, roll_up)
    cells: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for vote in votes:
        key = (*(getattr(vote, f) for f in facets), vote.region, vote.direction.value)
        cells[key].add(vote.study_id)
    rows: dict[tuple[str, ...], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for (*row_key, direction), ids in cells.items():
        rows[tuple(row_key)][direction] |= ids
    records = []
    for row_key, by_direction in rows.items():
        counts = {d.value: len(by_direction.get(d.value, ())) for d in DIRECTIONS}
        n_studies = len(set().union(*by_direction.values()))
        record = dict(zip([*facets, "region"], row_key, strict=True))
        record |= counts | {"n_studies": n_studies}
        record["p_sign"] = _sign_test(counts["increase"], counts["decrease"])
        records.append(record)
    columns = [*facets, "region", *(d.value for d in DIRECTIONS), "n_studies", "p_sign"]
    table = pd.DataFrame.from_records(records, columns=columns)
    table = table.sort_values([*facets, "region"], ignore_index=True)
    if facets:
        table["q_bh"] = table.groupby(facets, group_keys=False)["p_sign"].transform(_bh)
    else:
        table["q_bh"] = _bh(table["p_sign"])
    studies_by_cell = {key: tuple(sorted(ids)) for key, ids in sorted(cells.items())}
    return VoteCount(table=table, studies=studies_by_cell, exclusions=tuple(exclusions))
