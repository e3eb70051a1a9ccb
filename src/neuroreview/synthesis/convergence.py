"""One table per review: for each canonical region, every kind of evidence side by side.

The three syntheses answer different questions (the vote count: which way do studies report;
pooled effects: how large; the coordinate-based meta-analysis: do peaks converge beyond chance),
and a region is convincing when they agree. Reading three tables region by region is where
reviewers make mistakes, so this module joins them on the canonical region, keeps the ids of the
studies behind every number so each cell can be traced, and orders the rows by strength of
evidence (see :data:`ORDER`).

Effect sizes are pooled per region and measure (a glutamate change and a BOLD change are not one
quantity), only at the region a finding names: rolling them up would pool one study's sgACC and
pgACC values as two studies. What cannot be pooled is returned as an exclusion, never dropped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from neuroreview.errors import InputError
from neuroreview.model import FindingKind, Measure, Study
from neuroreview.synthesis.effects import (
    EffectInput,
    PooledEffect,
    g_from_effect_size,
    pool_effects,
)
from neuroreview.synthesis.regions import (
    RegionKind,
    aal3_labels,
    load_vocabulary,
    region_mask,
)
from neuroreview.synthesis.votes import DIRECTIONS, FACETS, VoteCount, count_votes, finding_region

if TYPE_CHECKING:
    from neuroreview.space.grid import Grid

__all__ = [
    "COLUMNS",
    "ORDER",
    "EffectEvidence",
    "EffectExclusion",
    "collect_effects",
    "convergence_table",
    "pool_groups",
]

#: Columns of the convergence table, in order. ``*_studies`` cells are sorted tuples of study ids.
COLUMNS = (
    "region",
    "name",
    "family",
    "increase",
    "decrease",
    "no_change",
    "n_studies",
    "p_sign",
    "q_bh",
    "increase_studies",
    "decrease_studies",
    "no_change_studies",
    "clusters",
    "cluster_ids",
    "cluster_voxels",
    "cluster_percent",
    "measure",
    "g",
    "ci_low",
    "ci_high",
    "k",
    "i2",
    "effect_studies",
)

#: Strength of evidence, strongest first: the BH q of the sign test (smallest first; regions
#: without a directional vote last), then the number of studies (most first), then coordinate
#: convergence (regions a surviving cluster touches first), then the number of studies pooled;
#: the region id breaks the remaining ties so the order never depends on input order.
ORDER = ("q_bh", "n_studies", "clusters", "k", "region", "family")


@dataclass(frozen=True)
class EffectExclusion:
    """A reported effect size that could not enter a pool, and why."""

    study_id: str
    item: str
    reason: str
    region: str | None = None


@dataclass(frozen=True)
class EffectEvidence:
    """Effect sizes as Hedges' g, grouped by (region id, measure), and what was left out."""

    inputs: dict[tuple[str, str], list[EffectInput]]
    exclusions: tuple[EffectExclusion, ...]


def collect_effects(studies: Sequence[Study], measure: Measure | None = None) -> EffectEvidence:
    """Every region finding's effect size as ``(study id, g, variance)``, by region and measure.

    Findings map to regions as votes do (the authors' ``region_raw``, else ``region``) and only
    drug effects are pooled (a correlation's r is not a drug effect); unmapped names are
    already vote exclusions, so they are not listed twice. A study enters a pool once: a second
    effect for the same region and measure (left and right sgACC, say) is excluded with its reason,
    the first reported kept. Effects that cannot become g (a d without variance) are excluded too.
    """
    inputs: dict[tuple[str, str], list[EffectInput]] = defaultdict(list)
    exclusions: list[EffectExclusion] = []
    for study in studies:
        for finding in study.region_findings:
            if finding.effect_size is None or (measure is not None and finding.measure != measure):
                continue
            region = finding_region((finding.region_raw, finding.region))
            if region is None:
                continue
            key = (region.id, finding.measure.value)
            item = f"{finding.region} ({finding.measure.value})"
            if finding.kind is not FindingKind.DRUG_EFFECT:
                reason = f"not a drug effect ({finding.kind.value}); only drug effects are pooled"
                exclusions.append(EffectExclusion(study.id, item, reason, region.id))
                continue
            if any(entry[0] == study.id for entry in inputs[key]):
                reason = "second effect size for this region and measure; the first is pooled"
                exclusions.append(EffectExclusion(study.id, item, reason, region.id))
                continue
            try:
                g = g_from_effect_size(finding.effect_size, study=study.id)
            except InputError as error:
                exclusions.append(EffectExclusion(study.id, item, str(error), region.id))
                continue
            inputs[key].append((study.id, g.value, g.variance))
    return EffectEvidence(inputs=dict(inputs), exclusions=tuple(exclusions))


#: Effects a region and measure need before they are pooled (and drawn in a forest plot).
MIN_POOLED = 2
#: Studies agreeing on a direction before a region counts as converging: one study is a report,
#: two that agree are the least that can be called convergence.
MIN_AGREEING = 2
#: Columns of :func:`effects_table`.
EFFECT_COLUMNS = ("region", "measure", "study_id", "g", "variance")


def effects_table(evidence: EffectEvidence, min_studies: int = MIN_POOLED) -> pd.DataFrame:
    """The study-level effects behind each pooled row: what a forest plot draws.

    Only groups of at least ``min_studies`` effects (those :func:`convergence_table` pools), in
    the order they were pooled, so pooling these rows again gives the convergence table's g.
    """
    records = [
        {"region": region, "measure": measure, "study_id": study_id, "g": g, "variance": variance}
        for (region, measure), effects in sorted(evidence.inputs.items())
        if len(effects) >= min_studies
        for study_id, g, variance in effects
    ]
    return pd.DataFrame.from_records(records, columns=list(EFFECT_COLUMNS))


def converging_regions(
    convergence: pd.DataFrame, min_agreeing: int = MIN_AGREEING
) -> list[tuple[str, str, str, str]]:
    """(region id, name, majority direction, measure family) where studies converge.

    Converging: at least ``min_agreeing`` studies of one measure family report a change in the
    same direction and outnumber those of that family reporting the other (a connectivity study
    and an activity study agreeing are two different claims, not convergence). A region and
    family with pools in several measures has several rows; it is listed once.
    """
    found: list[tuple[str, str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for row in convergence.itertuples(index=False):
        family = row.family if isinstance(row.family, str) else ""
        if (row.region, family) in seen:
            continue
        increase, decrease = int(row.increase), int(row.decrease)
        if max(increase, decrease) < min_agreeing or increase == decrease:
            continue
        seen.add((row.region, family))
        direction = "increase" if increase > decrease else "decrease"
        found.append((row.region, row.name, direction, family))
    return found


def _surviving_ids(
    cluster_volume: NDArray[np.integer], clusters: pd.DataFrame | None
) -> NDArray[np.int64]:
    """Cluster ids that count: those of the cluster table when given, else every id in the volume.

    A table id absent from the volume means the two came from different maps, which would make
    every overlap wrong, so it is an error.
    """
    present = np.unique(cluster_volume)
    present = present[present > 0].astype(np.int64)
    if clusters is None:
        return present
    listed = np.unique(clusters["cluster_id"].dropna().astype(np.int64).to_numpy())
    missing = np.setdiff1d(listed, present)
    if missing.size:
        raise ValueError(f"cluster ids {missing.tolist()} of the table are not in the volume")
    return listed


def _coordinate_evidence(
    region_ids: Sequence[str],
    cluster_volume: ArrayLike,
    clusters: pd.DataFrame | None,
    grid: Grid | None,
) -> pd.DataFrame:
    """Per region: surviving clusters touching its mask, and voxels / percent of it they cover.

    Regions without an AAL3 mask (networks, habenula, frontal pole) get no numbers, not zeros: no
    mask means the question cannot be asked, which is different from "no cluster there".
    """
    from neuroreview.space import MNI152_2MM

    grid = MNI152_2MM if grid is None else grid
    volume = np.asarray(cluster_volume)
    if volume.shape != tuple(grid.shape):
        raise ValueError(f"cluster volume has shape {volume.shape}, grid has shape {grid.shape}")
    if not np.issubdtype(volume.dtype, np.integer):
        raise ValueError(f"cluster volume must hold integer cluster ids, got {volume.dtype}")
    surviving = _surviving_ids(volume, clusters)
    in_cluster = np.isin(volume, surviving)
    vocabulary = load_vocabulary()
    records = []
    for region_id in region_ids:
        if not aal3_labels(region_id, vocabulary):
            continue
        mask = region_mask(region_id, grid)
        covered = mask & in_cluster
        ids = tuple(int(i) for i in np.unique(volume[covered]))
        records.append(
            {
                "region": region_id,
                "clusters": len(ids),
                "cluster_ids": ids,
                "cluster_voxels": int(covered.sum()),
                "cluster_percent": 100.0 * covered.sum() / mask.sum() if mask.any() else 0.0,
            }
        )
    columns = ["region", "clusters", "cluster_ids", "cluster_voxels", "cluster_percent"]
    return pd.DataFrame.from_records(records, columns=columns)


def _vote_part(votes: VoteCount) -> pd.DataFrame:
    facets = [f for f in FACETS if f in votes.table.columns and f != "family"]
    if facets:
        raise ValueError(
            f"the convergence table needs votes not split by {facets}: one row per region "
            "and measure family"
        )
    table = votes.table.copy()
    for direction in DIRECTIONS:
        table[f"{direction.value}_studies"] = [
            votes.studies.get((family, region, direction.value), ())
            for family, region in zip(table["family"], table["region"], strict=True)
        ]
    return table


def pool_groups(
    inputs: Mapping[tuple[str, str], Sequence[EffectInput]], min_studies: int = MIN_POOLED
) -> dict[tuple[str, str], PooledEffect]:
    """The REML random-effects pool of each (region, measure) group of at least ``min_studies``
    effects, in sorted order: what the convergence table summarises and a forest plot draws."""
    return {
        key: pool_effects(effects, method="REML")
        for key, effects in sorted(inputs.items())
        if len(effects) >= min_studies
    }


def _effect_part(pooled_groups: Mapping[tuple[str, str], PooledEffect]) -> pd.DataFrame:
    records = []
    for (region_id, measure_value), pooled in sorted(pooled_groups.items()):
        records.append(
            {
                "region": region_id,
                "family": Measure(measure_value).family.value,
                "measure": measure_value,
                "g": pooled.estimate,
                "ci_low": pooled.ci_low,
                "ci_high": pooled.ci_high,
                "k": pooled.k,
                "i2": pooled.i2,
                "effect_studies": tuple(sorted(s.study_id for s in pooled.studies)),
            }
        )
    columns = ["region", "family", "measure", "g", "ci_low", "ci_high", "k", "i2"]
    columns.append("effect_studies")
    return pd.DataFrame.from_records(records, columns=columns)


def _touched_regions(coordinates: pd.DataFrame) -> list[str]:
    """Anatomical regions (not parents) a surviving cluster reaches: convergence with no votes is
    still evidence worth a row, while parents only repeat their children's overlap."""
    vocabulary = load_vocabulary()
    touched = coordinates[coordinates["clusters"] > 0]["region"]
    return [r for r in touched if vocabulary[r].kind is RegionKind.REGION]


def convergence_table(
    studies: Sequence[Study],
    *,
    votes: VoteCount | None = None,
    clusters: pd.DataFrame | None = None,
    cluster_volume: ArrayLike | None = None,
    grid: Grid | None = None,
    measure: Measure | str | None = None,
    pooled: Mapping[tuple[str, str], PooledEffect] | None = None,
) -> pd.DataFrame:
    """Votes, pooled effects and CBMA cluster overlap per canonical region, strongest first.

    ``votes`` defaults to ``count_votes(studies)`` and must not be split by facets (pass
    ``count_votes(studies, roll_up=True)`` to read parents such as the ACC as a whole).
    ``cluster_volume`` is an int volume of cluster ids on ``grid`` (default MNI152 2 mm), 0
    outside clusters, as labelling a corrected map gives; ``clusters`` is its cluster table, whose
    ``cluster_id`` values say which clusters survived (without it, every id in the volume does).
    ``measure`` pools only that measure's effects; by default every measure is pooled separately.
    ``pooled`` is :func:`pool_groups` of the studies' effects when the caller has it already.

    Rows are the (region, measure family) pairs with votes or a pooled effect, plus anatomical
    regions a surviving cluster touches (family empty). A family with pooled effects in several
    measures gets one row per measure, the vote and cluster columns repeated; the ``measure``
    column tells them apart. Coordinate
    columns are NaN without a cluster volume and for regions without an atlas mask. Rows are
    ordered by :data:`ORDER`.
    """
    if clusters is not None and cluster_volume is None:
        raise ValueError("a cluster table needs its labelled cluster volume to overlap regions")
    chosen = None if measure is None else Measure.parse(measure)
    votes = count_votes(studies) if votes is None else votes
    vote_part = _vote_part(votes)
    if pooled is None:
        pooled = pool_groups(collect_effects(studies, chosen).inputs)
    effect_part = _effect_part(pooled)
    keys = set(zip(vote_part["region"], vote_part["family"], strict=True))
    keys |= set(zip(effect_part["region"], effect_part["family"], strict=True))
    coordinates = None
    if cluster_volume is not None:
        all_ids = [r.id for r in load_vocabulary()]
        coordinates = _coordinate_evidence(all_ids, cluster_volume, clusters, grid)
        with_evidence = {region for region, _ in keys}
        keys |= {(r, "") for r in _touched_regions(coordinates) if r not in with_evidence}
    vocabulary = load_vocabulary()
    ordered_keys = sorted(keys)
    table = pd.DataFrame(
        {
            "region": pd.Series([r for r, _ in ordered_keys], dtype=object),
            "family": pd.Series([f for _, f in ordered_keys], dtype=object),
        }
    )
    table.insert(1, "name", [vocabulary[r].name for r, _ in ordered_keys])
    table = table.merge(vote_part, on=["region", "family"], how="left")
    for direction in DIRECTIONS:
        table[direction.value] = table[direction.value].fillna(0).astype(np.int64)
        cell = f"{direction.value}_studies"
        table[cell] = [ids if isinstance(ids, tuple) else () for ids in table[cell]]
    table["n_studies"] = table["n_studies"].fillna(0).astype(np.int64)
    if coordinates is not None:
        table = table.merge(coordinates, on="region", how="left")
    else:
        table[["clusters", "cluster_ids", "cluster_voxels", "cluster_percent"]] = np.nan
    table = table.merge(effect_part, on=["region", "family"], how="left")
    table["effect_studies"] = [
        ids if isinstance(ids, tuple) else () for ids in table["effect_studies"]
    ]
    table["cluster_ids"] = [ids if isinstance(ids, tuple) else None for ids in table["cluster_ids"]]
    return _ordered(table[list(COLUMNS)])


def _ordered(table: pd.DataFrame) -> pd.DataFrame:
    """Sort by :data:`ORDER`; missing q, cluster counts and k sort as the weakest evidence."""
    key = pd.DataFrame(
        {
            "q_bh": table["q_bh"].fillna(np.inf),
            "n_studies": -table["n_studies"],
            "clusters": -(table["clusters"].fillna(0) > 0).astype(int),
            "k": -table["k"].fillna(0),
            "region": table["region"],
            "family": table["family"],
            "measure": table["measure"].fillna(""),
        }
    )
    order = key.sort_values([*ORDER, "measure"], kind="stable").index
    return table.loc[order].reset_index(drop=True)
