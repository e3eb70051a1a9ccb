"""An ``analyze`` folder (or a run's ``ale/``, ``mkda/``): maps, clusters and ``analysis.json``,
written whole under a hidden name and renamed into place, never over anything but an earlier
analysis."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuroreview.errors import NeuroreviewError
from neuroreview.io.layout import (
    ANALYSIS_RECORD,
    CLUSTER_IMAGE,
    CLUSTER_TABLE,
    IMPUTATION_SENSITIVITY,
    map_file,
    within,
)

if TYPE_CHECKING:
    from neuroreview.io.run_files import RunFiles
    from neuroreview.pipeline.meta_analysis import Outcome
    from neuroreview.pipeline.settings import Timer


def writable_target(out: Path, force: bool, record: str = ANALYSIS_RECORD) -> Path:
    """The absolute output folder, after checking now that it may be written at the end;
    ``--force`` replaces only a folder holding ``record`` (an earlier analysis's)."""
    from neuroreview.io.staging import check_writable

    target = out.expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise NeuroreviewError(f"--out {out} exists and is not a folder")
    if target.exists():
        if not force:
            raise NeuroreviewError(f"{out} already exists; use --force to replace it")
        if not (target / record).is_file():
            raise NeuroreviewError(
                f"{out} exists and holds no {record}; --force only replaces an earlier analysis"
            )
    check_writable(target)
    return target


def write_folder(
    files: RunFiles, folder: str, outcome: Outcome, record: dict[str, Any], timer: Timer
) -> None:
    """The analysis's maps, clusters and record into ``folder`` of ``files`` ("" for its root);
    the z map and the cluster image stay in memory for the report's figures."""

    from neuroreview.io.maps import cluster_table_tsv, cluster_volume_image

    with timer.step("write"):
        for name in sorted(outcome.result.maps):
            image = outcome.result.to_nifti(name)
            files.write_image(within(folder, map_file(name)), image, keep=name == "z")
        files.write_text(within(folder, CLUSTER_TABLE), cluster_table_tsv(outcome.clusters))
        volume = cluster_volume_image(outcome.cluster_ids, outcome.result.space.grid)
        files.write_image(within(folder, CLUSTER_IMAGE), volume, keep=True)
        for name, table in outcome.diagnostics.items():
            files.write_text(within(folder, name), table.to_csv(sep="\t", index=False))
        if outcome.sensitivity is not None:
            sensitivity = outcome.sensitivity.to_csv(sep="\t", index=False)
            files.write_text(within(folder, IMPUTATION_SENSITIVITY), sensitivity)
    text = json.dumps({**record, "timings_s": timer.seconds}, indent=2, allow_nan=False)
    files.write_text(within(folder, ANALYSIS_RECORD), text + "\n")


def publish_analysis(
    target: Path, force: bool, outcome: Outcome, record: dict[str, Any], timer: Timer
) -> None:
    """Write an ``analyze`` folder at ``target`` whole (see :func:`publish`)."""
    from neuroreview.io.run_files import RunFiles

    publish(
        target, force, lambda folder: write_folder(RunFiles(folder), "", outcome, record, timer)
    )


def publish(
    target: Path, force: bool, write: Callable[[Path], None], record: str = ANALYSIS_RECORD
) -> None:
    """Write the folder under a hidden name beside ``target``, then rename it into place.

    The target is checked again here: something may have appeared there while the analysis
    ran. Staging folders of killed earlier runs into the same place are removed first.
    """
    from neuroreview.io.staging import staged_folder

    writable_target(target, force, record)
    with staged_folder(target) as staging:
        write(staging)
