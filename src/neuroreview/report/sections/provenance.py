"""Data provenance and licences: attribution, the provenance file and package versions."""

from __future__ import annotations

from typing import Any

from neuroreview.io.layout import PROVENANCE, RUN_RECORD
from neuroreview.report.context import Context
from neuroreview.report.sections import Canvas, Section
from neuroreview.versions import package_versions

#: Packages the report itself uses, recorded beside those of the run.
REPORT_PACKAGES = ("nilearn", "matplotlib", "jinja2", "nibabel", "numpy")


def report_versions() -> dict[str, str]:
    return package_versions(REPORT_PACKAGES)


def content(context: Context, canvas: Canvas) -> dict[str, Any]:
    versions = {**context.summary.get("versions", {}), **report_versions()}
    return {
        "attribution": context.summary.get("attribution"),
        "provenance_name": PROVENANCE,
        "summary_name": RUN_RECORD,
        "versions": sorted(versions.items()),
    }


SECTION = Section("provenance", "Data provenance and licences", content)
