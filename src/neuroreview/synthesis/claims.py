"""The review's claims set against the corpus: studies for, against, and unknown, by id.

Ionescu et al. (2018) concluded that the subgenual anterior cingulate cortex stands out, and
that ketamine may lower self-monitoring (default-mode regions), blunt emotional responses
(limbic regions) and raise reward processing (striatum). Each claim is a direction in a set of
regions. A study is *for* a claim when a drug effect it reports in one of those regions goes the
claimed way, *against* when one goes the other way or shows no change, and *unknown* when it
reports a drug effect there whose direction nobody could read. Correlations, group differences
and baseline predictors in those regions are listed apart: they are not drug effects and
support nothing here. A study can sit in more than one column (two regions, two measures): it
is shown, not resolved, because which of them the review meant is the reader's call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from neuroreview.model import Direction, FindingKind, Study
from neuroreview.synthesis.votes import ExclusionReason, collect_votes, population_group


@dataclass(frozen=True)
class Claim:
    number: str
    key: str
    statement: str
    regions: frozenset[str]
    expected: Direction


REVIEW_CLAIMS = (
    Claim(
        "1",
        "sgacc",
        "Ketamine lowers subgenual anterior cingulate (sgACC) activity or connectivity",
        frozenset({"sgacc"}),
        Direction.DECREASE,
    ),
    Claim(
        "2",
        "default_mode",
        "Ketamine lowers self-monitoring: less default-mode activity or connectivity "
        "(PCC, precuneus, medial PFC)",
        frozenset({"default_mode", "pcc", "precuneus", "mpfc", "vmpfc", "dmpfc"}),
        Direction.DECREASE,
    ),
    Claim(
        "3a",
        "emotional_blunting",
        "Ketamine blunts emotional responses: less limbic activity or connectivity "
        "(amygdala, hippocampus, parahippocampal gyrus)",
        frozenset({"amygdala", "hippocampus", "parahippocampal"}),
        Direction.DECREASE,
    ),
    Claim(
        "3b",
        "reward",
        "Ketamine raises reward processing: more striatal activity or connectivity "
        "(caudate, putamen, ventral striatum)",
        frozenset({"striatum", "caudate", "putamen", "ventral_striatum"}),
        Direction.INCREASE,
    ),
)

CLAIM_COLUMNS = [
    "claim",
    "statement",
    "regions",
    "claimed_direction",
    "n_for",
    "n_against",
    "n_unknown",
    "for",
    "against",
    "unknown",
    "not_drug_effects",
]


def claims_table(studies: Sequence[Study], claims: Sequence[Claim] = REVIEW_CLAIMS) -> pd.DataFrame:
    """One row per claim; the study columns read ``id (population, measure family, region
    direction)`` so a reader sees what each study actually reported."""
    collected = collect_votes(studies)
    populations = {s.id: population_group(s.population).value for s in studies}
    rows = []
    for claim in claims:
        cells: dict[str, dict[str, list[str]]] = {"for": {}, "against": {}, "unknown": {}}
        for vote in collected.votes:
            if vote.region not in claim.regions:
                continue
            column = "for" if vote.direction is claim.expected else "against"
            what = f"{vote.family} {vote.region} {vote.direction.value}"
            cells[column].setdefault(vote.study_id, []).append(what)
        not_effects: dict[str, list[str]] = {}
        for exclusion in collected.exclusions:
            if exclusion.region not in claim.regions:
                continue
            if exclusion.reason is ExclusionReason.UNKNOWN_DIRECTION:
                cells["unknown"].setdefault(exclusion.study_id, []).append(exclusion.region)
            elif exclusion.reason is ExclusionReason.NOT_DRUG_EFFECT:
                kind = exclusion.detail or FindingKind.OTHER.value
                not_effects.setdefault(exclusion.study_id, []).append(f"{kind} {exclusion.region}")
        rows.append(
            {
                "claim": claim.number,
                "statement": claim.statement,
                "regions": ";".join(sorted(claim.regions)),
                "claimed_direction": claim.expected.value,
                "n_for": len(cells["for"]),
                "n_against": len(cells["against"]),
                "n_unknown": len(cells["unknown"]),
                **{
                    column: "; ".join(
                        f"{study} ({populations.get(study, 'unknown')}: "
                        f"{', '.join(sorted(set(found)))})"
                        for study, found in sorted(found_by.items())
                    )
                    for column, found_by in cells.items()
                },
                "not_drug_effects": "; ".join(
                    f"{study} ({', '.join(sorted(set(found)))})"
                    for study, found in sorted(not_effects.items())
                ),
            }
        )
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)
