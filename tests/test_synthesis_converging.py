"""Which regions count as converging (and are decoded by `run`): where enough studies agree."""

from __future__ import annotations

import pandas as pd

from neuroreview.synthesis.convergence import MIN_AGREEING, converging_regions


def test_converging_regions_need_two_agreeing_studies_and_a_majority():
    convergence = pd.DataFrame(
        [
            ("hippocampus", "Hippocampus", 4, 1),
            ("amygdala", "Amygdala", 1, 4),
            ("mpfc", "Medial prefrontal cortex", 2, 2),  # a tie has no direction
            ("sgacc", "Subgenual ACC", 1, 1),  # one study each way: no convergence
            ("pcc", "Posterior cingulate cortex", 1, 0),  # a single report
            ("hippocampus", "Hippocampus", 4, 1),  # a second measure row of the same region
            ("caudate", "Caudate", 2, 0),
        ],
        columns=["region", "name", "increase", "decrease"],
    )
    assert MIN_AGREEING == 2
    assert converging_regions(convergence) == [
        ("hippocampus", "Hippocampus", "increase"),
        ("amygdala", "Amygdala", "decrease"),
        ("caudate", "Caudate", "increase"),
    ]
