"""Coordinate-based meta-analysis: ALE, MKDA and KDA with NiMARE's numbers, far faster.

Part of the statistical core: a :class:`CoordinateSet` in, a :class:`CBMAResult` of maps out.
Names are loaded on first use (PEP 562) so ``import neuroreview.cbma`` stays cheap: numba and
scipy.sparse are paid for only by code that meta-analyses.

    coords = CoordinateSet.from_studies(studies)
    result = ALE().fit(coords)
    result = correct_fwe_montecarlo(result, n_iters=10_000, seed=0, n_jobs=2)
    table = clusters_for_correction(result)
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ALE": "neuroreview.cbma.ale",
    "KDA": "neuroreview.cbma.kda",
    "MKDADensity": "neuroreview.cbma.mkda",
    "MKDAChi2": "neuroreview.cbma.mkda",
    "AnalysisSpace": "neuroreview.cbma.base",
    "CBMAEstimator": "neuroreview.cbma.base",
    "NullProblem": "neuroreview.cbma.base",
    "CBMAInputError": "neuroreview.cbma.inputs",
    "CoordinateSet": "neuroreview.cbma.inputs",
    "CBMAResult": "neuroreview.cbma.results",
    "correct_fwe_montecarlo": "neuroreview.cbma.inference",
    "correct_fdr": "neuroreview.cbma.inference",
    "cluster_table": "neuroreview.cbma.clusters",
    "clusters_for_correction": "neuroreview.cbma.clusters",
    "ALESubtraction": "neuroreview.cbma.subtraction",
    "conjunction": "neuroreview.cbma.conjunction",
    "cluster_labels": "neuroreview.cbma.diagnostics",
    "jackknife": "neuroreview.cbma.diagnostics",
    "focus_counter": "neuroreview.cbma.diagnostics",
    "contributions": "neuroreview.cbma.diagnostics",
    "failsafe_n": "neuroreview.cbma.failsafe",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'neuroreview.cbma' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
