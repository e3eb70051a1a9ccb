"""Build ``src/neuroreview/data/neurosynth/topic_maps.{npz,json}`` from the Neurosynth v0.7 files.

Reads the coordinates, metadata and LDA50 weights in ``../shared/data/neurosynth/``, counts for
every voxel the studies active within 10 mm per topic (weight >= 0.05) and over all studies,
and writes the counts the 50 MKDA chi-square topic maps are computed from (see
``neuroreview.decode.topic_maps``). Deterministic: the same inputs give the same bytes.

``--check`` rebuilds in memory and compares with the shipped files: the sha256 of every array's
values (what matters) and of the archive's bytes (which also depend on the LZMA library); it
exits 1 if the values differ, or if the bytes differ and ``--strict`` is given. Usage::

    python tools/build_topic_maps.py [--data DIR] [--out DIR] [--check [--strict]]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from rich.console import Console  # noqa: E402
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn  # noqa: E402

from neuroreview.decode._archive import npz_bytes  # noqa: E402
from neuroreview.decode._neurosynth_topics import topic_inputs  # noqa: E402
from neuroreview.decode.topic_maps import (  # noqa: E402
    ARCHIVE_NAME,
    METADATA_NAME,
    TopicBuild,
    build_topic_maps,
    metadata_document,
)
from neuroreview.io.neurosynth import read_topic_files  # noqa: E402
from neuroreview.io.topic_archive import write_archive  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "neurosynth"
OUT = ROOT / "src" / "neuroreview" / "data" / "neurosynth"


def _build(data: Path, console: Console) -> TopicBuild:
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("reading Neurosynth and counting active studies per topic")
        build = build_topic_maps(topic_inputs(*read_topic_files(data)))
        progress.update(task, completed=1)
    return build


def _check(build: TopicBuild, out: Path, strict: bool, console: Console) -> int:
    shipped_json = out / METADATA_NAME
    if not shipped_json.is_file() or not (out / ARCHIVE_NAME).is_file():
        console.print(f"[red]no shipped {ARCHIVE_NAME} / {METADATA_NAME} in {out}")
        return 1
    shipped = json.loads(shipped_json.read_text(encoding="utf-8"))
    fresh_bytes = npz_bytes(build.counts.arrays())
    fresh_digest = hashlib.sha256(fresh_bytes).hexdigest()
    fresh = metadata_document(build, fresh_digest)
    file_digest = hashlib.sha256((out / ARCHIVE_NAME).read_bytes()).hexdigest()
    status = 0
    for name, digest in fresh["array_sha256"].items():
        recorded = shipped["array_sha256"].get(name)
        ok = recorded == digest
        console.print(f"{'ok' if ok else 'MISMATCH':8s} {name:16s} {digest}")
        status |= not ok
    same_doc = {k: v for k, v in fresh.items() if k != "archive_sha256"} == {
        k: v for k, v in shipped.items() if k != "archive_sha256"
    }
    console.print(f"{'ok' if same_doc else 'MISMATCH':8s} {METADATA_NAME} (apart from the hash)")
    status |= not same_doc
    bytes_ok = fresh_digest == shipped["archive_sha256"] == file_digest
    console.print(
        f"{'ok' if bytes_ok else 'DIFFERENT':8s} archive bytes: rebuilt {fresh_digest}, "
        f"recorded {shipped['archive_sha256']}, on disk {file_digest}"
    )
    if strict:
        status |= not bytes_ok
    return int(bool(status))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="Neurosynth v0.7 folder")
    parser.add_argument("--out", type=Path, default=OUT, help="package data folder")
    parser.add_argument("--check", action="store_true", help="rebuild and compare, write nothing")
    parser.add_argument("--strict", action="store_true", help="with --check: bytes must match")
    args = parser.parse_args(argv)
    console = Console(stderr=True, soft_wrap=True)
    start = time.perf_counter()
    build = _build(args.data, console)
    counted = time.perf_counter() - start
    if args.check:
        status = _check(build, args.out, args.strict, console)
        console.print(f"{'matches' if status == 0 else 'DOES NOT MATCH'} ({counted:.1f} s)")
        return status
    data = npz_bytes(build.counts.arrays())
    document = metadata_document(build, hashlib.sha256(data).hexdigest())
    write_archive(args.out, ARCHIVE_NAME, data, METADATA_NAME, document)
    size = (args.out / ARCHIVE_NAME).stat().st_size
    inputs = document["inputs"]
    console.print(
        f"{inputs['n_studies']} studies, {inputs['n_foci']} foci "
        f"(studies by space {inputs['studies_by_space']}); {len(document['topics'])} topics; "
        f"counted in {counted:.1f} s, written in {time.perf_counter() - start - counted:.1f} s; "
        f"{ARCHIVE_NAME} {size / 1e6:.2f} MB, sha256 {document['archive_sha256']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
