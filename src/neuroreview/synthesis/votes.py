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

Only drug effects vote (a brain-symptom correlation or a users-vs-controls difference says
nothing about what the drug does); everything else is returned as an exclusion naming its kind.
Votes are kept apart by measure family: "more sgACC connectivity" and "more sgACC activity" are
different claims. Where a peak carries the authors' region name, that name decides where it
votes; the atlas label is kept beside it and every disagreement is listed.

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

from neuroreview.model import Direction, FindingKind, Population, Space, Study, Timing
from neuroreview.space import tal_to_mni
from neuroreview.synthesis.regions import Region, ancestors, canonical_for_aal3, canonical_region

__all__ = [
    "DIRECTIONS",
    "FACETS",
    "DRUG_EFFECT_ONLY",
    "Exclusion",
    "ExclusionReason",
    "LabelDisagreement",
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
#: The study attributes a table can be split by; ``family`` is the measure family of the vote.
FACETS = ("modality", "population", "timing", "family")
#: The kinds of result that vote by default.
DRUG_EFFECT_ONLY = frozenset({FindingKind.DRUG_EFFECT})

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
    NOT_DRUG_EFFECT = "not a drug effect"


@dataclass(frozen=True)
class Exclusion:
    """Evidence that could not vote, and why; ``region`` is set when it was known and
    ``detail`` says more (the kind of a result that is not a drug effect)."""

    study_id: str
    item: str
    reason: ExclusionReason
    region: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class LabelDisagreement:
    """A peak whose authors' region name and atlas label name different regions: the authors'
    name voted; this record lets a reader check the call."""

    study_id: str
    analysis_id: str
    xyz: tuple[float, float, float]
    authors_label: str
    authors_region: str | None
    atlas_region: str | None


@dataclass(frozen=True)
class Vote:
    """One study's vote for one region and direction, with the facets it can be split by."""

    study_id: str
    region: str
    direction: Direction
    modality: str
    population: str
    timing: str
    family: str


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
    disagreements: tuple[LabelDisagreement, ...] = ()

    def excluded(self, reason: ExclusionReason) -> list[Exclusion]:
        return [e for e in self.exclusions if e.reason is reason]


def atlas_region_of_focus(xyz: tuple[float, float, float]) -> Region | None:
    """The canonical region of the AAL3 label at an MNI point (nearest label within 5 mm)."""
    from neuroreview.space.atlas import label_point

    return canonical_for_aal3(label_point(xyz).name)


_Pair = tuple[str, Direction, str]  # region id, direction, measure family


def finding_region(texts: Iterable[str | None]) -> Region | None:
    """The canonical region of the first name that maps (the authors' own name first)."""
    return next((r for r in map(canonical_region, [t for t in texts if t]) if r is not None), None)


def _finding_votes(
    study: Study, kinds: frozenset[FindingKind], exclusions: list[Exclusion]
) -> Iterable[_Pair]:
    for finding in study.region_findings:
        region = finding_region((finding.region_raw, finding.region))
        if finding.kind not in kinds:
            exclusions.append(
                Exclusion(
                    study.id,
                    finding.region,
                    ExclusionReason.NOT_DRUG_EFFECT,
                    region.id if region else None,
                    finding.kind.value,
                )
            )
        elif region is None:
            exclusions.append(Exclusion(study.id, finding.region, ExclusionReason.UNMAPPED_REGION))
        elif finding.direction is Direction.UNKNOWN:
            exclusions.append(
                Exclusion(study.id, finding.region, ExclusionReason.UNKNOWN_DIRECTION, region.id)
            )
        else:
            yield region.id, finding.direction, finding.measure.family.value


def _analysis_votes(
    study: Study,
    region_of_focus: RegionOfFocus,
    kinds: frozenset[FindingKind],
    exclusions: list[Exclusion],
    disagreements: list[LabelDisagreement],
) -> Iterable[_Pair]:
    for analysis in study.analyses:
        if analysis.kind not in kinds:
            exclusions.append(
                Exclusion(
                    study.id,
                    analysis.id,
                    ExclusionReason.NOT_DRUG_EFFECT,
                    detail=analysis.kind.value,
                )
            )
            continue
        if analysis.space is Space.UNKNOWN:
            exclusions.append(Exclusion(study.id, analysis.id, ExclusionReason.UNKNOWN_SPACE))
            continue
        points = np.array([[f.x, f.y, f.z] for f in analysis.foci], dtype=np.float64)
        if analysis.space is Space.TAL:
            points = tal_to_mni(points)
        located: set[Region | None] = set()
        for focus, point in zip(analysis.foci, points, strict=True):
            xyz = (float(point[0]), float(point[1]), float(point[2]))
            atlas = region_of_focus(xyz)
            if focus.label is None:
                located.add(atlas)
                continue
            authors = canonical_region(focus.label)
            located.add(authors)
            if authors != atlas:
                disagreements.append(
                    LabelDisagreement(
                        study.id,
                        analysis.id,
                        xyz,
                        focus.label,
                        authors.id if authors else None,
                        atlas.id if atlas else None,
                    )
                )
        regions = sorted(r.id for r in located if r is not None)
        family = analysis.measure.family.value
        if not regions:
            exclusions.append(Exclusion(study.id, analysis.id, ExclusionReason.NO_REGION))
        elif analysis.direction is Direction.UNKNOWN:
            exclusions.extend(
                Exclusion(study.id, analysis.id, ExclusionReason.UNKNOWN_DIRECTION, region)
                for region in regions
            )
        else:
            yield from ((region, analysis.direction, family) for region in regions)


@dataclass(frozen=True)
class CollectedVotes:
    votes: list[Vote]
    exclusions: list[Exclusion]
    disagreements: list[LabelDisagreement]


def collect_votes(
    studies: Sequence[Study],
    region_of_focus: RegionOfFocus | None = None,
    roll_up: bool = False,
    kinds: Iterable[FindingKind] = DRUG_EFFECT_ONLY,
) -> CollectedVotes:
    """Every study's distinct (region, direction, measure family) votes, the evidence
    excluded and the peaks whose authors' name and atlas label disagree.

    ``region_of_focus`` defaults to the AAL3 atlas (read only if some study has foci). With
    ``roll_up`` a vote also counts for each ancestor region (sgACC -> ACC -> cingulate ->
    limbic), still once per study. ``kinds`` are the kinds of result that vote.
    """
    locate = atlas_region_of_focus if region_of_focus is None else region_of_focus
    wanted = frozenset(FindingKind.parse(k) for k in kinds)
    votes: list[Vote] = []
    exclusions: list[Exclusion] = []
    disagreements: list[LabelDisagreement] = []
    for study in studies:
        pairs = set(_finding_votes(study, wanted, exclusions))
        pairs |= set(_analysis_votes(study, locate, wanted, exclusions, disagreements))
        if roll_up:
            pairs |= {(a.id, d, f) for region, d, f in pairs for a in ancestors(region)}
        facets = (
            study.modality.value,
            population_group(study.population).value,
            timing_group(study.timing).value,
        )
        votes.extend(Vote(study.id, r, d, *facets, family) for r, d, family in sorted(pairs))
    return CollectedVotes(votes, exclusions, disagreements)


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
    kinds: Iterable[FindingKind] = DRUG_EFFECT_ONLY,
) -> VoteCount:
    """The measure family x region x direction table of study counts, split further by the
    facets in ``by`` (any of :data:`FACETS`), with a sign test per row and BH correction across
    the rows of each facet group.

    The measure family is always a key: votes of different families never share a row. A map of
    where the evidence lies, not an effect estimate: every study weighs the same whatever its
    size or effect (see docs/regions.md).
    """
    unknown = [f for f in by if f not in FACETS]
    if unknown:
        raise ValueError(f"cannot split votes by {unknown}; choose from {list(FACETS)}")
    facets = [f for f in by if f != "family"] + ["family"]
    collected = collect_votes(studies, region_of_focus, roll_up, kinds)
    votes, exclusions = collected.votes, collected.exclusions
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
    return VoteCount(
        table=table,
        studies=studies_by_cell,
        exclusions=tuple(exclusions),
        disagreements=tuple(collected.disagreements),
    )
