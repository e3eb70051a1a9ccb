"""Which regions count as converging (and are decoded by `run`): where enough studies agree."""

from __future__ import annotations

import pandas as pd

from neuroreview.synthesis.convergence import MIN_AGREEING, converging_regions


def test_converging_regions_need_two_agreeing_studies_and_a_majority():
    convergence = pd.DataFrame(
        [
            ("hippocampus", "Hippocampus", "activity", 4, 1),
            ("amygdala", "Amygdala", "activity", 1, 4),
            ("mpfc", "Medial prefrontal cortex", "activity", 2, 2),  # a tie has no direction
            ("sgacc", "Subgenual ACC", "activity", 1, 1),  # one study each way: no convergence
            ("pcc", "Posterior cingulate cortex", "activity", 1, 0),  # a single report
            # a second measure row of the same region and family
            ("hippocampus", "Hippocampus", "activity", 4, 1),
            ("caudate", "Caudate", "activity", 2, 0),
            # one activity and one connectivity study agreeing are two claims, not convergence
            ("dacc", "Dorsal ACC", "activity", 1, 0),
            ("dacc", "Dorsal ACC", "connectivity", 1, 0),
            # the same region converging in a second family is a second claim
            ("caudate", "Caudate", "connectivity", 0, 3),
        ],
        columns=["region", "name", "family", "increase", "decrease"],
    )
    assert MIN_AGREEING == 2
    assert converging_regions(convergence) == [
        ("hippocampus", "Hippocampus", "increase", "activity"),
        ("amygdala", "Amygdala", "decrease", "activity"),
        ("caudate", "Caudate", "increase", "activity"),
        ("caudate", "Caudate", "decrease", "connectivity"),
    ]
