"""Benchmark: per-cluster jackknife and focus counts, ours against NiMARE's diagnostics.

Run ``python benchmarks/bench_jackknife.py`` (``--no-append`` to only print). On NiMARE's pain
example (21 experiments, 267 foci; our coordinates are the ones NiMARE analysed), both tools fit
ALE, then tabulate the clusters of the uncorrected z map above the z of p < 0.001 with at least
10 voxels (no Monte Carlo, so only the diagnostic is timed):

- NiMARE: ``Jackknife(target_image="z", target_threshold=z, cluster_threshold=10)`` and the same
  ``FocusCounter``, one core, each timed once (its jackknife refits ALE 21 times);
- ours: ``cluster_labels`` + ``jackknife`` (and ``focus_counter``), median of 5 after one
  warm-up call, from the one sparse MA matrix without refitting.

Each row's notes give the largest difference between the two tables (clusters matched by voxels).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ.setdefault("TQDM_DISABLE", "1")  # NiMARE's progress bars

from _results import new_result, publish  # noqa: E402
from cbma import _quiet, nimare_data, our_coordinates  # noqa: E402

PEER = "NiMARE 0.22.1"
MIN_VOXELS = 10
REPEATS = 5


def _median_seconds(call, repeats: int = REPEATS) -> float:
    call()  # warm-up: numba's cached kernels load on first use
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _largest_difference(ours, their_table, their_labels, labels, ids) -> float:
    """Max |ours - NiMARE| over the table, columns matched through the clusters' voxels."""
    import numpy as np

    from neuroreview.cbma.diagnostics import cluster_columns

    mapping = {}
    for name, cluster in zip(cluster_columns(ids), ids, strict=True):
        theirs = np.unique(their_labels[labels == cluster])
        if theirs.size != 1:
            return float("nan")
        mapping[name] = f"PositiveTail {int(theirs[0])}"
    table = their_table.set_index("id")
    aligned = ours.rename(columns=mapping).loc[table.index, table.columns]
    return float(np.max(np.abs(aligned.to_numpy(float) - table.to_numpy(float))))


def measure() -> dict:
    from nimare.diagnostics import FocusCounter, Jackknife
    from nimare.meta.cbma import ALE as NiMAREALE

    from neuroreview.cbma.ale import ALE
    from neuroreview.cbma.diagnostics import cluster_labels, focus_counter, jackknife
    from neuroreview.cbma.stats import p_to_z

    _quiet()
    threshold = float(p_to_z(0.001))
    estimator = NiMAREALE()
    theirs = estimator.fit(nimare_data("pain"))
    coordinates = our_coordinates("pain", estimator)
    ours = ALE().fit(coordinates)
    options = {"target_image": "z", "target_threshold": threshold}
    options["cluster_threshold"] = MIN_VOXELS

    start = time.perf_counter()
    their_jack = Jackknife(**options).transform(theirs)
    peer_jack = time.perf_counter() - start
    start = time.perf_counter()
    their_counts = FocusCounter(**options).transform(theirs)
    peer_counts = time.perf_counter() - start
    their_labels = their_jack.maps["label_tail-positive"].astype(int)

    def labels():
        return cluster_labels(ours, "z", threshold, min_cluster_voxels=MIN_VOXELS)

    ours_jack = _median_seconds(lambda: jackknife(ours, labels()))
    ours_counts = _median_seconds(lambda: focus_counter(ours, labels()))
    label_pair = labels()
    suffix = "tab-counts_tail-positive"
    jack_diff = _largest_difference(
        jackknife(ours, label_pair),
        their_jack.tables[f"z_diag-Jackknife_{suffix}"],
        their_labels,
        *label_pair,
    )
    counts_diff = _largest_difference(
        focus_counter(ours, label_pair),
        their_counts.tables[f"z_diag-FocusCounter_{suffix}"],
        their_labels,
        *label_pair,
    )
    return {
        "experiments": coordinates.n_experiments,
        "foci": coordinates.n_foci,
        "clusters": len(label_pair[1]),
        "jackknife_seconds": ours_jack,
        "peer_jackknife_seconds": peer_jack,
        "jackknife_max_difference": jack_diff,
        "focus_counter_seconds": ours_counts,
        "peer_focus_counter_seconds": peer_counts,
        "focus_counter_max_difference": counts_diff,
    }


def run(append: bool = True) -> dict:
    measured = measure()
    return publish(new_result("jackknife", **measured, rows=_rows(measured)), append)


def _rows(m: dict) -> list[tuple[str, str, str, str]]:
    setting = (
        f"pain example ({m['experiments']} experiments, {m['foci']} foci), ALE, {m['clusters']} "
        f"clusters (z > z(p=0.001), >= {MIN_VOXELS} voxels), 1 core"
    )
    jack_speed = m["peer_jackknife_seconds"] / m["jackknife_seconds"]
    count_speed = m["peer_focus_counter_seconds"] / m["focus_counter_seconds"]
    return [
        (
            "jackknife: per-cluster jackknife table, pain example",
            f"{m['jackknife_seconds']:.3f} s",
            f"{m['peer_jackknife_seconds']:.2f} s",
            f"{PEER} Jackknife (21 refits) vs our sparse leave-one-out; {setting}; ours median "
            f"of {REPEATS} after a warm-up, including cluster labelling; {jack_speed:.0f}x; "
            f"largest difference between the tables {m['jackknife_max_difference']:.1e}",
        ),
        (
            "jackknife: per-cluster focus counts, pain example",
            f"{m['focus_counter_seconds']:.3f} s",
            f"{m['peer_focus_counter_seconds']:.2f} s",
            f"{PEER} FocusCounter; {setting}; ours median of {REPEATS}, including cluster "
            f"labelling; {count_speed:.0f}x; largest difference "
            f"{m['focus_counter_max_difference']:.0f}",
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args(argv)
    result = run(append=not args.no_append)
    for measurement, ours, peer, notes in result["rows"]:
        print(f"   {measurement:58s} ours {ours:>10s}   peer {peer}\n      {notes}")


if __name__ == "__main__":
    main()
