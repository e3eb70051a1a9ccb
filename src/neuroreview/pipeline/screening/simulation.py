"""How much reading the active-learning order saves on a labelled set (ASReview's metrics)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from neuroreview.errors import InputError

# --- simulation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulationRow:
    seed: int
    n_records: int
    n_relevant: int
    wss95: float
    rrf10: float
    random_wss95: float
    random_rrf10: float
    seconds: float


def simulate_file(
    path: str | Path, label: str, seeds: Sequence[int], model: str = "logistic", progress=None
) -> list[SimulationRow]:
    """Screen a labelled set in the model's order and at random, per seed (ASReview's metrics)."""
    import time

    from neuroreview.io.references import read_references
    from neuroreview.screening.simulation import simulate, simulate_random

    found = read_references(path)
    if found.labels is None:
        raise InputError(
            "carries no labels; a simulation needs a labelled set (JSON lines, each record "
            "with a 'labels' list)",
            path,
        )
    relevant = [label in labels for labels in found.labels]
    if not any(relevant):
        known = sorted({name for labels in found.labels for name in labels})
        raise InputError(f"no record carries the label {label!r}; labels: {', '.join(known)}", path)
    if all(relevant):
        raise InputError(f"every record carries the label {label!r}: nothing to rank", path)
    texts = [r.text() for r in found.records]
    rows = []
    for seed in seeds:
        start = time.perf_counter()
        run = simulate(relevant, texts, model=model, seed=seed)
        seconds = time.perf_counter() - start
        baseline = simulate_random(relevant, seed=seed)
        rows.append(
            SimulationRow(
                seed,
                len(relevant),
                sum(relevant),
                run.wss95,
                run.rrf10,
                baseline.wss95,
                baseline.rrf10,
                seconds,
            )
        )
        if progress is not None:
            progress()
    return rows
