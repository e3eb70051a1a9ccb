"""Benchmark: building the 50 Neurosynth topic maps (target: under 5 minutes on 2 cores).

Run ``python benchmarks/bench_topic_maps.py`` (``--no-peer`` skips NiMARE's ~1.5 minutes). It
prints the measurements and appends one row per measurement to ``benchmarks/RESULTS.md``.

Measurements:

- the whole build as a user runs it: ``tools/build_topic_maps.py --out <tmp>`` in a fresh
  interpreter (read and validate the files, convert Talairach, count active studies for all 50
  topics, write the LZMA archive), wall time and the child's peak RSS;
- its steps, in this process after a warm-up (numba compiled): reading the inputs, counting,
  computing the 50 association z maps, compressing the archive;
- loading the shipped maps (``load_topic_maps()``) in a fresh interpreter;
- the peer: NiMARE 0.22.1 ``MKDAChi2`` for one topic (topic 0) on the same 14,371 studies,
  timed once, with its ``convert_neurosynth_to_dataset`` load timed separately; NiMARE has no
  all-topics path, so 50 topics is its one-topic fit times 50 plus one load.
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

from _results import new_result, publish  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(
    os.environ.get("NEUROREVIEW_NEUROSYNTH_DIR", ROOT.parent / "shared" / "data" / "neurosynth")
)
PEER = "NiMARE 0.22.1"
PREFIX = "data-neurosynth_version-7_"
PEER_TOPIC = 0


def _fresh_build(data: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of the build tool in a fresh interpreter."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as folder:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, str(ROOT / "tools" / "build_topic_maps.py"), "--data", str(data)]
            + ["--out", folder],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest child so far; the build is the first big one.
    return seconds, max(peak, before) / 1024


def _fresh_load() -> float:
    code = (
        "import time; t = time.perf_counter(); "
        "from neuroreview.decode.topic_maps import load_topic_maps; load_topic_maps(); "
        "print(time.perf_counter() - t)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env=dict(os.environ, OPENBLAS_NUM_THREADS="1"),
    )
    return float(out.stdout.strip().splitlines()[-1])


def _steps(data: Path) -> dict[str, float]:
    import numpy as np

    from neuroreview.cbma.base import AnalysisSpace
    from neuroreview.decode._archive import npz_bytes
    from neuroreview.decode._counts import active_counts
    from neuroreview.decode._neurosynth_topics import topic_inputs
    from neuroreview.decode.topic_maps import topic_counts
    from neuroreview.io.neurosynth import read_topic_files

    steps: dict[str, float] = {}
    start = time.perf_counter()
    inputs = topic_inputs(*read_topic_files(data))
    steps["read"] = time.perf_counter() - start
    warm = inputs.coordinates.subset(inputs.coordinates.experiment_ids[:20])
    active_counts(warm, np.ones((20, 1), dtype=bool), AnalysisSpace.default())  # numba warm-up
    start = time.perf_counter()
    counts = topic_counts(inputs.coordinates, inputs.weights, inputs.topic_ids)
    steps["count"] = time.perf_counter() - start
    start = time.perf_counter()
    counts.maps()
    steps["maps"] = time.perf_counter() - start
    start = time.perf_counter()
    npz_bytes(counts.arrays())
    steps["write"] = time.perf_counter() - start
    return steps


def _peer(data: Path) -> dict[str, float]:
    from nimare.io import convert_neurosynth_to_dataset
    from nimare.meta.cbma import MKDAChi2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        dataset = convert_neurosynth_to_dataset(
            str(data / f"{PREFIX}coordinates.tsv.gz"),
            str(data / f"{PREFIX}metadata.tsv.gz"),
            annotations_files={
                "features": str(
                    data / f"{PREFIX}vocab-LDA50_source-abstract_type-weight_features.npz"
                ),
                "vocabulary": str(data / f"{PREFIX}vocab-LDA50_vocabulary.txt"),
            },
        )
        load = time.perf_counter() - start
        label = [c for c in dataset.annotations.columns if c.startswith("LDA50_")][PEER_TOPIC]
        start = time.perf_counter()
        selected = dataset.get_studies_by_label(label, label_threshold=0.05)
        unselected = sorted(set(dataset.ids) - set(selected))
        MKDAChi2().fit(dataset.slice(selected), dataset.slice(unselected))
        fit = time.perf_counter() - start
    return {"load": load, "fit": fit}


def run(data: Path = DATA, peer: bool = True, append: bool = True) -> dict:
    """Measure, optionally append the rows to RESULTS.md, and return everything as a dict."""
    if not (data / f"{PREFIX}coordinates.tsv.gz").is_file():
        raise SystemExit(f"the Neurosynth v0.7 files are not in {data}")
    steps = _steps(data)  # first: also compiles the kernel so the fresh build loads the cache
    build_seconds, build_rss = _fresh_build(data)
    load_seconds = _fresh_load()
    result = new_result(
        "topic_maps",
        build_seconds=build_seconds,
        build_peak_rss_mib=build_rss,
        steps=steps,
        load_seconds=load_seconds,
    )
    if peer:
        result["peer"] = _peer(data)
    result["rows"] = _rows(result)
    return publish(result, append)


def _rows(result: dict) -> list[tuple[str, str, str, str]]:
    steps = result["steps"]
    peer = result.get("peer")
    if peer:
        all_topics = peer["load"] + 50 * peer["fit"]
        build_peer = f"{all_topics:.0f} s (estimated, {PEER})"
        one_peer = f"{peer['fit']:.1f} s ({PEER})"
        peer_note = (
            f"; peer: MKDAChi2 fit for topic {PEER_TOPIC} (all 14,371 studies) timed once, "
            f"{peer['fit']:.1f} s, x 50 plus one convert_neurosynth_to_dataset load "
            f"({peer['load']:.1f} s); NiMARE has no all-topics path"
        )
    else:
        build_peer = one_peer = "n/a"
        peer_note = ""
    per_topic = steps["count"] / 50 + steps["maps"] / 50
    return [
        (
            "topic maps: build all 50 LDA50 MKDA chi-square maps, 14,371 studies (wall)",
            f"{result['build_seconds']:.1f} s",
            build_peer,
            "tools/build_topic_maps.py in a fresh interpreter (numba cache warm): read + "
            f"validate {steps['read']:.1f} s, count all topics {steps['count']:.1f} s, 50 z maps "
            f"{steps['maps']:.1f} s, LZMA archive {steps['write']:.1f} s (steps timed in-process)"
            f"; target under 5 minutes{peer_note}",
        ),
        (
            "topic maps: one topic's association map (counting + z, wall)",
            f"{per_topic:.2f} s",
            one_peer,
            "ours: the all-topics count and z time divided by 50 (one pass serves every topic); "
            "peer: one MKDAChi2 fit, selected vs all other studies",
        ),
        (
            "topic maps: build, peak RSS of the process",
            f"{result['build_peak_rss_mib']:.0f} MiB",
            "n/a",
            "ru_maxrss of the fresh build process (includes the interpreter and imports)",
        ),
        (
            "topic maps: load_topic_maps() in a fresh interpreter",
            f"{result['load_seconds']:.2f} s",
            "n/a",
            "imports, LZMA decompression of the 8.4 MB archive and the 50 float32 z maps "
            "recomputed from the counts",
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder of the Neurosynth files")
    parser.add_argument("--no-peer", action="store_true", help="skip NiMARE")
    parser.add_argument("--no-append", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args(argv)
    result = run(args.data, peer=not args.no_peer, append=not args.no_append)
    for measurement, ours, peer, _ in result["rows"]:
        print(f"{measurement:75s} ours {ours:>10s}   peer {peer}")


if __name__ == "__main__":
    main()
