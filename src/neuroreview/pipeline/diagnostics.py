"""Per-cluster diagnostics of a meta-analysis, as ``analyze --diagnostics`` asks for them.

Which diagnostics exist, which methods and settings each needs, and the tables they add to the
analysis folder: NiMARE's jackknife and focus counter (its column names, so its users recognise
them), each experiment's contribution to each cluster (the Jülich ALE code's columns), and ALE's
fail-safe N (Acar et al. 2018), with its seed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from neuroreview.errors import NeuroreviewError

if TYPE_CHECKING:
    import pandas as pd

    from neuroreview.pipeline.meta_analysis import Outcome
    from neuroreview.pipeline.settings import Settings

#: Diagnostic name -> the file it writes beside clusters.tsv.
DIAGNOSTICS = {
    "jackknife": "jackknife.tsv",
    "focus-counter": "focus_counter.tsv",
    "contribution": "contributions.tsv",
    "failsafe": "failsafe.tsv",
}


def parse_diagnostics(text: str | None, settings: Settings) -> tuple[str, ...]:
    """``jackknife,focus-counter`` checked against the method and options before any work."""
    if not text:
        return ()
    names = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    unknown = [n for n in names if n not in DIAGNOSTICS]
    if unknown:
        raise NeuroreviewError(
            f"--diagnostics: unknown {unknown[0]!r}; choose from {', '.join(DIAGNOSTICS)}"
        )
    if "failsafe" in names:
        if settings.method != "ale":
            raise NeuroreviewError("--diagnostics failsafe: fail-safe N is defined for ALE only")
        if not settings.fwe:
            raise NeuroreviewError(
                "--diagnostics failsafe holds each cluster to the analysis's cluster-size FWE "
                "cut-off, which needs the Monte Carlo: drop --no-fwe"
            )
        if settings.resolved_convention().histogram != "nimare":
            raise NeuroreviewError(
                "--diagnostics failsafe recomputes NiMARE's null histogram as experiments are "
                "added; it does not follow pyALE's (give --histogram nimare, or leave it out)"
            )
    return names


def diagnose(outcome: Outcome, settings: Settings) -> dict[str, pd.DataFrame]:
    """The requested tables for the clusters the analysis reports (its ``clusters.nii.gz``)."""
    from neuroreview.cbma import diagnostics as cluster_diagnostics
    from neuroreview.cbma.failsafe import failsafe_n

    labels = outcome.cluster_ids
    tables: dict[str, pd.DataFrame] = {}
    for name in settings.diagnostics:
        if name == "jackknife":
            table = cluster_diagnostics.jackknife(outcome.result, labels).reset_index()
        elif name == "focus-counter":
            table = cluster_diagnostics.focus_counter(outcome.result, labels).reset_index()
        elif name == "contribution":
            table = cluster_diagnostics.contributions(outcome.result, labels)
        else:
            table = failsafe_n(
                outcome.result,
                labels,
                seed=settings.seed if settings.seed is not None else 0,
                voxel_thresh=settings.voxel_thresh,
                alpha=settings.alpha,
            )
        tables[DIAGNOSTICS[name]] = table
    return tables


def diagnostics_record(settings: Settings, tables: dict[str, Any]) -> dict[str, Any]:
    """What analysis.json says of the diagnostics: which ran, their files, fail-safe N's seed."""
    record: dict[str, Any] = {
        "names": list(settings.diagnostics),
        "files": sorted(tables),
    }
    if "failsafe" in settings.diagnostics:
        record["failsafe"] = {
            "seed": settings.seed,
            "cluster_size_cutoff": "the analysis's cluster-size FWE cut-off, held fixed "
            "while null experiments are added (Acar et al. 2018 re-ran the Monte Carlo at "
            "every step)",
        }
    return record
