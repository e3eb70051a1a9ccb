"""Build ``report.html`` from a run's context: draw, write tables, render, publish.

The order matters for trust: the context holds every number (gathered by
:mod:`neuroreview.pipeline.report_inputs`), every derived table and figure is written beside the
report, the HTML is rendered from the same objects by the registered sections
(:mod:`neuroreview.report.sections`), and the page itself is written last, whole
(write-then-rename), with a provenance JSON naming the hash of every input it was built from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from neuroreview import __version__
from neuroreview.io import layout
from neuroreview.io.atomic import atomic_write_text
from neuroreview.io.hashing import file_sha256
from neuroreview.report.context import Context
from neuroreview.report.render import render
from neuroreview.report.sections import Canvas, lay_out
from neuroreview.report.sections.provenance import report_versions

REPORT, PROVENANCE = layout.REPORT_FILE, layout.PROVENANCE


def _provenance(context: Context, written: list[Path], report: Path) -> dict[str, Any]:
    out = context.out

    def entry(path: Path) -> dict[str, Any]:
        return {
            "path": path.relative_to(out).as_posix(),
            "sha256": file_sha256(path),
            "bytes": path.stat().st_size,
        }

    parameters: dict[str, Any] = {"run": context.settings}
    for analysis in context.analyses:
        if analysis.run:
            record = analysis.record
            parameters[analysis.method] = {
                key: record.get(key)
                for key in ("method", "estimator", "null_mask", "n_null_voxels", "fwe", "fdr")
            } | {"clusters": {k: v for k, v in record.get("clusters", {}).items() if k != "file"}}
        else:
            parameters[analysis.method] = {"status": analysis.status, "reason": analysis.reason}
    return {
        "report": REPORT,
        "report_sha256": file_sha256(report),
        "generated_by": f"neuroreview {__version__}",
        "corpus": context.summary.get("corpus"),
        "inputs": [entry(path) for path in sorted(set(context.inputs))],
        "outputs": [entry(path) for path in sorted(set(written))],
        "parameters": parameters,
        "versions": {"run": context.summary.get("versions", {}), "report": report_versions()},
        "attribution": context.summary.get("attribution"),
    }


def build_report(context: Context, folder_name: str | None = None) -> Path:
    """Write ``report.html`` (and its figures, tables and provenance) into the run's folder.

    ``folder_name`` is the name the report gives the folder (default: its own), for a folder
    built under a hidden name and renamed after. Returns the report's path.
    """
    out = context.out
    tables = context.derived_tables()
    for table in tables:
        atomic_write_text(out / table.path, table.to_tsv())
    canvas = Canvas(out, layout.REPORT_FOLDER)
    sections = lay_out(context, canvas)
    html = render(
        {
            "title": f"Neuroimaging meta-analysis of {context.drug}: review report",
            "version": __version__,
            "out_name": folder_name or out.resolve().name,
            "sections": sections,
        }
    )
    report = atomic_write_text(out / REPORT, html)
    written = [out / t.path for t in tables] + canvas.files()
    document = _provenance(context, written, report)
    atomic_write_text(out / PROVENANCE, json.dumps(document, indent=2, allow_nan=False) + "\n")
    return report
