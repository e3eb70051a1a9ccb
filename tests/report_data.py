"""Runs of `neuroreview run` (each with its report) shared by the report tests of a session.

The synthetic corpus is built so that every part of the report has something to show: ten
coordinate studies with foci around one point in the medial prefrontal cortex (ALE and MKDA
clusters survive), one without a sample size (ALE imputes the median), region findings with effect
sizes in two studies (a pooled effect and its forest plot), patients and healthy volunteers
(the heatmap's population split), a Neurosynth-sourced study (the ODbL attribution), and
findings that cannot vote (exclusions).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from neuroreview.cli.app import app
from neuroreview.io.builtin import builtin_corpus_dir
from neuroreview.io.tables import write_tables
from neuroreview.model import Analysis, EffectSize, Focus, RegionFinding, Study

#: The steps every run records in summary.json, in the order it takes them.
RUN_STEPS = [
    "load",
    "select",
    "ale",
    "mkda",
    "questions",
    "contrasts",
    "regions",
    "decode",
    "report",
]
#: Monte Carlo iterations of the synthetic run: enough for FWE p < 0.05 to be reachable.
ITERATIONS = "100"
_RUNS: dict[str, Path] = {}


def _foci(seed: int, point=(-4, 44, 2), n: int = 5) -> list[Focus]:
    offsets = np.random.default_rng(seed).uniform(-4, 4, size=(n, 3))
    return [Focus(x=x, y=y, z=z) for x, y, z in np.asarray(point) + offsets]


def _coordinate_study(i: int, **fields) -> Study:
    defaults = {
        "population": "healthy" if i % 2 else "mdd",
        "modality": "fmri_task",
        "exposure": "single_dose",
        "timing": "during" if i % 2 else "days",
        "n_subjects": 20 + i,
        "drug": "ketamine",
    }
    analysis = Analysis(id="a1", direction="increase", space="MNI", foci=_foci(i))
    return Study(id=f"coord{i}", analyses=[analysis], **(defaults | fields))


def _finding(region: str, direction: str, g: float | None = None, variance: float | None = None):
    effect = None if g is None else EffectSize(kind="g", value=g, variance=variance)
    return RegionFinding(region=region, direction=direction, measure="glx", effect_size=effect)


STUDIES = [
    *(_coordinate_study(i) for i in range(9)),
    _coordinate_study(9, n_subjects=None),
    _coordinate_study(10, provenance={"foci": "Neurosynth v0.7 (ODbL 1.0)"}),
    Study(
        id="mrs1",
        population="mdd",
        modality="mrs",
        exposure="single_dose",
        timing="hours",
        drug="ketamine",
        region_findings=[
            _finding("sgACC", "decrease", -0.6, 0.1),
            _finding("amygdala", "increase"),
            _finding("bogus place", "increase"),
        ],
    ),
    Study(
        id="mrs2",
        population="trd",
        modality="mrs",
        exposure="repeated_course",
        timing="weeks",
        drug="ketamine",
        region_findings=[_finding("subgenual ACC", "decrease", -0.3, 0.2)],
    ),
    Study(
        id="pet1",
        population="healthy",
        modality="pet",
        exposure="single_dose",
        timing="during",
        drug="ketamine",
        region_findings=[_finding("sgACC", "increase"), _finding("thalamus", "unknown")],
    ),
]


def synthetic_run(factory: pytest.TempPathFactory) -> Path:
    """The output folder of a run of :data:`STUDIES`, report included (built once a session)."""
    if "synthetic" not in _RUNS:
        corpus = sorted(write_tables(STUDIES, factory.mktemp("report-corpus"), fmt="tsv"))
        out = factory.mktemp("report-run") / "out"
        args = ["run", *(a for p in corpus for a in ("--corpus", str(p)))]
        args += ["--out", str(out), "--iterations", ITERATIONS, "--jobs", "1"]
        result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        _RUNS["synthetic"] = out
    return _RUNS["synthetic"]


def builtin_run(factory: pytest.TempPathFactory) -> Path:
    """The output folder of the default run of the built-in corpus (built once a session)."""
    if builtin_corpus_dir() is None:
        pytest.skip("no built-in corpus ships with this version")
    if "builtin" not in _RUNS:
        out = factory.mktemp("report-builtin") / "out"
        result = CliRunner().invoke(app, ["run", "--out", str(out)], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        _RUNS["builtin"] = out
    return _RUNS["builtin"]
