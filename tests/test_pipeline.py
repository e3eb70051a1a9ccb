"""A whole review from Python, its configuration as TOML, and a run repeated from its own folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neuroreview.cli.app import app
from neuroreview.errors import InputError
from neuroreview.io.tables import write_tables
from neuroreview.model import Exposure
from neuroreview.pipeline.config import ReviewConfig
from neuroreview.pipeline.review import ReviewResult, run_review
from neuroreview.report.sentences import number

sys.path.insert(0, str(Path(__file__).parent))
from report_data import RUN_STEPS, STUDIES  # noqa: E402
from run_manifest import manifest  # noqa: E402

runner = CliRunner()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[Path]:
    return sorted(write_tables(STUDIES, tmp_path_factory.mktemp("corpus"), fmt="tsv"))


def test_config_reads_toml_with_paths_relative_to_the_file(tmp_path):
    (tmp_path / "review.toml").write_text(
        "[review]\n"
        'corpus = ["data/foci.tsv", "/abs/studies.tsv"]\n'
        'out = "results"\n'
        "iterations = 200\nseed = 4\n"
        'include_exposure = ["chronic use"]\n'
    )
    config = ReviewConfig.from_toml(tmp_path / "review.toml")
    assert config.corpus == (tmp_path / "data" / "foci.tsv", Path("/abs/studies.tsv"))
    assert config.out == tmp_path / "results"
    assert (config.iterations, config.seed, config.jobs) == (200, 4, 2)
    assert config.include_exposure == (Exposure.CHRONIC_USE,)
    assert config.min_experiments == 17
    assert ReviewConfig.from_toml(_written(tmp_path, config.to_toml())) == config


def _written(folder: Path, text: str) -> Path:
    path = folder / "again.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[review]\nseeds = 3\n", "seeds: Extra inputs are not permitted"),
        ("[review]\niterations = 0\n", "iterations: Input should be greater than or equal to 1"),
        ("[review\n", "not valid TOML"),
        ('[review]\ncorpus = ["a.txt"]\ndb = "x.db"\n', "give either corpus files or a db"),
    ],
)
def test_bad_config_files_name_the_file_and_the_setting(tmp_path, text, message):
    path = tmp_path / "review.toml"
    path.write_text(text)
    with pytest.raises(InputError) as raised:
        ReviewConfig.from_toml(path)
    assert str(raised.value).startswith(f"{path}: ") and message in str(raised.value)


def test_a_review_runs_from_python_and_writes_its_config(corpus, tmp_path):
    config = ReviewConfig(corpus=tuple(corpus), out=tmp_path / "out", iterations=50, seed=1)
    result = run_review(config)
    assert isinstance(result, ReviewResult) and result.out == tmp_path / "out"
    assert result.selection.to_dict()["n_coordinate_studies"] == 11
    assert result.steps["ale"]["n_experiments"] == 11 and result.steps["ale"]["seed"] == 1
    assert list(result.steps) == RUN_STEPS
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["steps"]["mkda"]["n_clusters"] == result.steps["mkda"]["n_clusters"]
    assert ReviewConfig.from_toml(tmp_path / "out" / "review.toml") == config.model_copy(
        update={"corpus": tuple(p.absolute() for p in corpus), "out": tmp_path / "out"}
    )
    with pytest.raises(Exception, match="holds an earlier run; use --force"):
        run_review(config)


def test_a_run_repeated_from_its_own_folder_gives_the_same_files(corpus, tmp_path):
    # The same folder name: the report names its folder.
    first = tmp_path / "one" / "out"
    args = [a for p in corpus for a in ("--corpus", str(p))]
    result = runner.invoke(app, ["run", *args, "--out", str(first), "--iterations", "50"])
    assert result.exit_code == 0, result.output
    again = tmp_path / "two" / "out"
    result = runner.invoke(
        app, ["run", "--config", str(first / "review.toml"), "--out", str(again)]
    )
    assert result.exit_code == 0, result.output
    one = manifest(first, {str(first): "<out>"})
    two = manifest(again, {str(again): "<out>"})
    assert one.keys() == two.keys()
    assert [path for path in one if one[path] != two[path]] == []
    # An option given on the command line overrides the file.
    seeded = tmp_path / "seeded"
    result = runner.invoke(
        app, ["run", "--config", str(first / "review.toml"), "--out", str(seeded), "--seed", "9"]
    )
    assert result.exit_code == 0, result.output
    settings = json.loads((seeded / "summary.json").read_text())["settings"]
    assert (settings["seed"], settings["iterations"]) == (9, 50)


def test_a_missing_config_file_is_one_line(tmp_path):
    result = runner.invoke(app, ["run", "--config", str(tmp_path / "none.toml")])
    assert result.exit_code == 2
    assert (
        result.output.strip()
        == f"error: {tmp_path / 'none.toml'}: cannot read: No such file or directory"
    )


def test_a_store_password_is_never_written_into_the_folder():
    config = ReviewConfig(db="postgresql+psycopg://me:secret@localhost/reviews")
    text = config.to_toml()
    assert "secret" not in text
    assert 'db = "postgresql+psycopg://me:***@localhost/reviews"' in text
    assert 'db = "review.db"' in ReviewConfig(db="review.db").to_toml()


def test_a_run_reads_back_nothing_it_wrote_and_pools_each_region_once(
    corpus, tmp_path, monkeypatch
):
    """The report stage gets what the steps wrote from memory (RunFiles) and the pooled effects
    from the region step: reading a run file from disk, or pooling twice, fails this run."""
    from neuroreview.io.run_files import RunFiles
    from neuroreview.synthesis import convergence

    def read_from_disk(self, relative):
        raise AssertionError(f"the run read back {relative}")

    pooled = []
    real_pool = convergence.pool_effects

    def counted(effects, method="REML"):
        pooled.append([e[0] for e in effects])
        return real_pool(effects, method=method)

    monkeypatch.setattr(RunFiles, "_need", read_from_disk)
    monkeypatch.setattr(convergence, "pool_effects", counted)
    config = ReviewConfig(corpus=tuple(corpus), out=tmp_path / "out", iterations=20, seed=1)
    result = run_review(config)
    assert len(pooled) == len(result.regions.pooled) == result.steps["regions"]["n_pooled_effects"]
    assert list(result.regions.pooled) == [("sgacc", "glx")]
    assert set(result.analyses) == {"ale", "mkda"}
    maps = [t for t in result.decoding.targets if t.kind == "map"]
    assert len(maps) == result.decoding.record["n_maps"] == 2
    assert [t.source for t in maps] == ["ale/z.nii.gz", "mkda/z.nii.gz"]
    assert all(t.table is not None and t.table["topic"].iloc[0] == t.top_topic for t in maps)
    assert result.report == tmp_path / "out" / "report.html"
    report = result.report.read_text(encoding="utf-8")
    estimate = result.regions.pooled["sgacc", "glx"].estimate
    assert f"(diamond, REML; g = {number(estimate)})" in report
