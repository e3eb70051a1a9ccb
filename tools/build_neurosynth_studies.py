"""Build ``src/neuroreview/data/neurosynth/studies.npz`` from the Neurosynth v0.7 files.

Reads the coordinates, metadata and LDA50 topic weights in ``../shared/data/neurosynth/`` and
writes the compact per-study file the region decoder ships with (see
``neuroreview.decode.neurosynth_data`` for what it holds and why). Deterministic: the same inputs
give the same bytes, so ``--check`` can compare checksums. Usage::

    python tools/build_neurosynth_studies.py [--shared DIR] [--out FILE] [--check]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np
from scipy import sparse

from neuroreview.decode.neurosynth_data import (
    DEFAULT_THRESHOLD,
    SPACES,
    build_studies,
    studies_bytes,
)
from neuroreview.io.atomic import atomic_path
from neuroreview.io.neurosynth import read_neurosynth

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "neurosynth"
OUT = ROOT / "src" / "neuroreview" / "data" / "neurosynth" / "studies.npz"
PREFIX = "data-neurosynth_version-7_"


def build(shared: Path = SHARED) -> tuple[bytes, str]:
    """The file's bytes and a one-paragraph summary of what went into it."""
    database = read_neurosynth(
        shared / f"{PREFIX}coordinates.tsv.gz", shared / f"{PREFIX}metadata.tsv.gz"
    )
    weights = sparse.load_npz(
        shared / f"{PREFIX}vocab-LDA50_source-abstract_type-weight_features.npz"
    ).toarray()
    vocabulary = (shared / f"{PREFIX}vocab-LDA50_vocabulary.txt").read_text(encoding="utf-8")
    topic_ids = [line.strip() for line in vocabulary.splitlines() if line.strip()]
    studies = build_studies(database, weights, topic_ids, DEFAULT_THRESHOLD)
    focus_space = np.repeat(studies.space, studies.n_foci)
    by_space = ", ".join(
        f"{name} {int((studies.space == code).sum())} studies / "
        f"{int((focus_space == code).sum())} foci"
        for code, name in enumerate(SPACES)
    )
    summary = (
        f"{studies.n_studies} studies, {int(studies.n_foci.sum())} foci ({by_space}); "
        f"{studies.voxels.shape[0]} distinct study voxels; "
        f"{studies.n_foci_outside_grid} foci outside the grid dropped; "
        f"{studies.n_topics} topics, membership at weight >= {studies.threshold}"
    )
    return studies_bytes(studies), summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=SHARED, help="the Neurosynth data folder")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write studies.npz")
    parser.add_argument(
        "--check", action="store_true", help="rebuild in memory and compare with --out's sha256"
    )
    args = parser.parse_args(argv)
    payload, summary = build(args.shared)
    digest = hashlib.sha256(payload).hexdigest()
    print(summary)
    if args.check:
        if not args.out.is_file():
            print(f"{args.out}: missing", file=sys.stderr)
            return 1
        shipped = hashlib.sha256(args.out.read_bytes()).hexdigest()
        if shipped != digest:
            print(
                f"{args.out}: sha256 {shipped} differs from the rebuild {digest}", file=sys.stderr
            )
            return 1
        print(f"{args.out}: up to date (sha256 {digest})")
        return 0
    with atomic_path(args.out) as temporary:
        temporary.write_bytes(payload)
    print(f"wrote {args.out} ({len(payload):,} bytes, sha256 {digest})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
