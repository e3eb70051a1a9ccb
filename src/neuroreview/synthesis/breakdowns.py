"""Counts of a run's tables broken down by facets, for the report's tables and heatmap.

They work on the tables as written (text cells), so every count can be checked against the
file it was counted from: studies by timing and population, by modality, population and timing
together, the votes of each region split by population group, and the exclusions by reason.
Each returns a :class:`~neuroreview.model.table.Table` at the ``path`` the caller gives.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from enum import Enum

from neuroreview.model import Modality, Population, Timing
from neuroreview.model.table import ID_SEPARATOR, Table
from neuroreview.synthesis.votes import DIRECTIONS, PopulationGroup, population_group

Record = dict[str, str]


def _ordered(values: set[str], vocabulary: type[Enum]) -> list[str]:
    """The values in the vocabulary's order, then any others sorted (so every review reads the
    same)."""
    known = [member.value for member in vocabulary if member.value in values]
    return known + sorted(values - set(known))


def timing_crosstab(studies: Sequence[Record], path: str) -> Table:
    """Studies by timing (rows) and population (columns), with totals, like the modality table."""
    pairs = Counter(
        (s.get("timing") or "unknown", s.get("population") or "unknown") for s in studies
    )
    timings = _ordered({t for t, _ in pairs}, Timing)
    populations = _ordered({p for _, p in pairs}, Population)
    rows = []
    for timing in timings:
        counts = [pairs.get((timing, p), 0) for p in populations]
        rows.append([timing, *map(str, counts), str(sum(counts))])
    totals = [sum(pairs.get((t, p), 0) for t in timings) for p in populations]
    rows.append(["total", *map(str, totals), str(sum(totals))])
    return Table(path, ["timing", *populations, "total"], rows)


def corpus_facets(studies: Sequence[Record], path: str) -> Table:
    """Studies by modality x population x timing, one row per combination that occurs.

    The two crosstabs show two facets at a time; this long table shows all three together, in
    the model's order of each vocabulary, so a reader sees, say, how many resting-state studies
    of patients were scanned days after the dose.
    """

    def key(value: str, vocabulary: type[Enum]) -> tuple[int, str]:
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
    return Table(path, ["modality", "population", "timing", "studies"], rows)


def votes_by_population(convergence: Table, studies: Sequence[Record], path: str) -> Table:
    """Studies per region, direction and population group, from the convergence table's ids.

    Population is a property of a study, so splitting the study ids behind each vote count by the
    study's population group gives exactly the counts ``count_votes(by=["population"])`` would,
    without recomputing any vote: the heatmap and the tables cannot disagree.
    """
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
    return Table(path, ["region", "direction", "population", "studies"], rows)


def exclusion_counts(exclusions: Table, path: str) -> Table:
    """How many findings were excluded, by kind (vote or effect) and reason."""
    counts = Counter((r["evidence"], r["reason"]) for r in exclusions.records())
    rows = [[kind, reason, str(n)] for (kind, reason), n in sorted(counts.items())]
    return Table(path, ["kind", "reason", "findings"], rows)
