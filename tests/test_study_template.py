"""The template users copy to add their own studies reads back as the example it shows."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from neuroreview.cli import app
from neuroreview.io.tables import read_tables
from neuroreview.store import Repository

TEMPLATE = Path(__file__).resolve().parents[1] / "docs" / "templates" / "my_study"


def test_template_reads_as_one_complete_study():
    (study,) = read_tables(sorted(TEMPLATE.glob("*.csv")))
    assert study.id == "myauthor2024"
    assert (study.population.value, study.modality.value, study.timing.value) == (
        "mdd",
        "fmri_task",
        "hours",
    )
    assert [(f.x, f.y, f.z) for f in study.analyses[0].foci] == [(4, 28, -6), (-10, 12, -8)]
    assert study.analyses[0].direction.value == "increase"
    (finding,) = study.region_findings
    assert (finding.region, finding.effect_size.value, finding.effect_size.variance) == (
        "sgacc",
        -0.55,
        0.09,
    )


def test_template_imports_into_a_store(tmp_path):
    db = tmp_path / "review.db"
    files = [str(p) for p in sorted(TEMPLATE.glob("*.csv"))]
    result = CliRunner().invoke(app, ["import", *files, "--db", str(db)])
    assert result.exit_code == 0, result.output
    with Repository(db) as repository:
        assert repository.study_ids() == ["myauthor2024"]
