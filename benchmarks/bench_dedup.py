"""Benchmark: deduplicating 50,000 search records (target: under ~10 s on 2 cores).

The records are built by ``tests/dedup_cases.py`` with a fixed seed: real papers (the 895
usable screening papers of ``../shared/data/screening`` and, when present, the 14,371 Neurosynth
v0.7 studies of ``../shared/data/neurosynth``, repeats removed), topped up with synthetic papers
made from their titles and authors, then database copies, conference abstracts, translated
titles and hard negatives added as in the test set, and cut to 50,000 records. Since the truth
is known, the rows give, besides the median wall time of ``find_duplicates`` over three runs,
the pairs it found and their pairwise precision and recall. There is no peer: ASReview and
Covidence have no comparable local deduplication that can be run here. The notes give, for
scale, an exact-match baseline (same normalised DOI, or the same lower-case alphanumeric
title). Run ``python benchmarks/bench_dedup.py``.
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from _results import RESULTS, new_result, publish  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from dedup_cases import (  # noqa: E402
    SHARED_PAPERS,
    build_cases,
    distinct_papers,
    implied_pairs,
    load_papers,
    neurosynth_papers,
    score,
    subset,
    synthetic_papers,
)

NEUROSYNTH = (
    Path(
        os.environ.get(
            "NEUROREVIEW_NEUROSYNTH_DIR", HERE.parents[1] / "shared" / "data" / "neurosynth"
        )
    )
    / "data-neurosynth_version-7_metadata.tsv.gz"
)
RECORDS = 50_000
#: Distinct papers before duplicates are added: about 1.29 records a paper with these shares.
PAPERS = 39_000
SHARES = {
    "copy_share": 0.2,
    "second_copy_share": 0.05,
    "conference_share": 0.03,
    "translated_share": 0.01,
    "similar_negatives": 800,
    "same_author_negatives": 500,
}


def build(records: int = RECORDS, seed: int = 20240611):
    """The benchmark's records and truth, with the numbers that describe them."""
    if not SHARED_PAPERS.is_file():
        raise SystemExit(f"the shared screening papers are absent ({SHARED_PAPERS})")
    screening = load_papers()
    neurosynth = neurosynth_papers(NEUROSYNTH) if NEUROSYNTH.is_file() else []
    real = distinct_papers(screening + neurosynth)
    papers = real + synthetic_papers(real, max(0, round(PAPERS * records / RECORDS) - len(real)))
    cases = subset(build_cases(papers, seed=seed, **SHARES), records)
    described = {
        "real_papers": len(real),
        "screening": len(screening),
        "neurosynth": len(neurosynth),
        "synthetic_papers": len(papers) - len(real),
        "true_groups": len(cases.groups()),
        "true_pairs": len(cases.true_pairs()),
        "auto_pairs": len(cases.auto_pairs()),
    }
    return cases, described


def _exact_baseline(cases) -> tuple[float, float]:
    """Precision and recall of merging records with the same DOI or the same bare title."""
    from neuroreview.screening.dedup import DuplicatePair
    from neuroreview.screening.normalise import normalise_doi

    first: dict[str, str] = {}
    pairs = []
    for record in cases.records:
        keys = [f"t:{re.sub(r'[^a-z0-9]', '', (record.title or '').lower())}"]
        doi = normalise_doi(record.doi)
        keys += [f"d:{doi}"] if doi else []
        for key in keys:
            if key in first and len(key) > 8:
                pairs.append(DuplicatePair(record.id, first[key], 1.0, key, True))
            first.setdefault(key, record.id)
    merged, true = implied_pairs(pairs), cases.true_pairs()
    return len(merged & true) / len(merged), len(merged & true) / len(true)


def run(records: int = RECORDS, repeats: int = 3, append: bool = True) -> dict:
    from neuroreview.screening.dedup import find_duplicates

    start = time.perf_counter()
    cases, described = build(records)
    build_seconds = time.perf_counter() - start
    times, pairs = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        pairs = find_duplicates(cases.records)
        times.append(time.perf_counter() - start)
    measured = score(cases, pairs)
    baseline = _exact_baseline(cases)
    result = new_result(
        "dedup",
        records=len(cases.records),
        seconds_runs=times,
        seconds_median=statistics.median(times),
        build_seconds=build_seconds,
        baseline_precision_recall=baseline,
        **described,
        **measured,
    )
    result["rows"] = _rows(result, repeats)
    return publish(result, append)


def _rows(r: dict, repeats: int) -> list[tuple[str, str, str, str]]:
    runs = ", ".join(f"{t:.1f}" for t in r["seconds_runs"])
    made = (
        f"{r['records']:,} records: {r['real_papers']:,} real papers ({r['screening']:,} "
        f"screening + {r['neurosynth']:,} Neurosynth, repeats removed) and "
        f"{r['synthetic_papers']:,} synthetic ones, with database copies, "
        f"conference abstracts, translated titles and hard negatives (tests/dedup_cases.py, "
        f"seeded); {r['true_groups']:,} true groups, {r['true_pairs']:,} true pairs"
    )
    return [
        (
            f"dedup: `find_duplicates` on {r['records']:,} records (wall)",
            f"{r['seconds_median']:.1f} s",
            "n/a",
            f"median of {repeats} ({runs} s), one process, rapidfuzz with 1 thread; {made}; "
            f"found {r['certain_pairs']:,} certain and {r['uncertain_pairs']:,} uncertain "
            "pairs; target under ~10 s; no peer: ASReview and Covidence have no comparable "
            "local deduplication",
        ),
        (
            "dedup: certain merges, pairwise precision / recall",
            f"{r['certain_precision']:.4f} / {r['certain_recall']:.4f}",
            "n/a",
            f"over the pairs the certain groups imply; recall over the {r['auto_pairs']:,} "
            "pairs of records of one report (conference abstracts, reprints, other editions "
            "and translated copies sharing no identifier are by design left to a person), "
            f"over all {r['true_pairs']:,} true pairs {r['certain_recall_all']:.4f}; exact "
            f"baseline (same DOI or bare title): {r['baseline_precision_recall'][0]:.4f} / "
            f"{r['baseline_precision_recall'][1]:.4f} over all true pairs",
        ),
        (
            "dedup: certain + uncertain, recall / precision of the uncertain pairs",
            f"{r['found_recall']:.4f} / {r['uncertain_precision']:.3f}",
            "n/a",
            "recall over all true pairs of the certain groups plus, for each uncertain pair, "
            "the pairs between the two groups it links; precision: the share of uncertain "
            "pairs that are true duplicates (the rest are mostly the hard negatives a person "
            "should see: same first author, nearly the same title)",
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=RECORDS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-append", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args(argv)
    result = run(args.records, args.repeats, append=not args.no_append)
    for measurement, ours, _, notes in result["rows"]:
        print(f"{measurement}: {ours} ({notes})")
    if not args.no_append:
        print(f"appended {len(result['rows'])} rows to {RESULTS}")


if __name__ == "__main__":
    main()
