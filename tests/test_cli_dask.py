"""``--scheduler`` and ``--workers``: the heavy commands on a Dask cluster give the local files.

A running cluster (the shared 2-worker ``dask_client`` fixture, reached by its address as a
user's ``dask scheduler`` would be) and a local cluster the command starts itself; every map,
table and null is compared byte for byte with the same command run in local threads, and the
records say where the iterations ran.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neuroreview.pipeline.config import ReviewConfig
from test_cli_analyze import SLEUTH, invoke, one_line_error, outputs
from test_contrasts import sleuth


@pytest.fixture(scope="module")
def sleuth_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("input") / "insula.txt"
    path.write_text(SLEUTH)
    return path


def _same_except_where_it_ran(local: Path, remote: Path, record_name: str) -> dict:
    """Every file identical; the JSON record too, once its note of the cluster is removed."""
    mine, reference = outputs_of(remote, record_name), outputs_of(local, record_name)
    assert mine.keys() == reference.keys()
    for name in mine.keys() - {record_name}:
        assert mine[name] == reference[name], name
    return json.loads(mine[record_name])


def outputs_of(folder: Path, record_name: str) -> dict[str, bytes]:
    if record_name == "analysis.json":
        return outputs(folder)
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    record = json.loads(files.pop(record_name))
    record.pop("timings_s")
    files[record_name] = json.dumps(record, sort_keys=True).encode()
    return files


def test_analyze_on_a_running_cluster_writes_the_local_files(dask_client, sleuth_file, tmp_path):
    address = dask_client.scheduler.address
    common = ("--iterations", 230, "--seed", 11)
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert invoke("analyze", sleuth_file, *common, "--out", local).exit_code == 0
    result = invoke("analyze", sleuth_file, *common, "--scheduler", address, "--out", remote)
    assert result.exit_code == 0, result.output
    record = _same_except_where_it_ran(local, remote, "analysis.json")
    assert record["fwe"]["dask"] == {"scheduler": address, "workers": 2}
    assert record["fwe"]["n_iters_run"] == 230
    assert "dask" not in json.loads((local / "analysis.json").read_text())["fwe"]
    assert dask_client.scheduler_info()["workers"]  # the user's cluster is left running


def test_analyze_on_a_local_cluster_of_its_own(sleuth_file, tmp_path):
    common = ("--iterations", 120, "--seed", 5, "--method", "mkda")
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert invoke("analyze", sleuth_file, *common, "--out", local).exit_code == 0
    result = invoke("analyze", sleuth_file, *common, "--workers", 2, "--out", remote)
    assert result.exit_code == 0, result.output
    record = _same_except_where_it_ran(local, remote, "analysis.json")
    assert record["fwe"]["dask"] == {"scheduler": "local cluster", "workers": 2}
    assert "120 Monte Carlo iterations on Dask (2 workers, local cluster)" in result.output


@pytest.mark.parametrize("method", ["subtraction", "chi2"])
def test_compare_on_a_cluster_writes_the_local_files(dask_client, tmp_path, method):
    first = sleuth(tmp_path / "a.txt", "A", (40, 20, 0), 9)
    second = sleuth(tmp_path / "b.txt", "B", (-40, 20, 0), 9)
    common = ("--method", method, "--iterations", 150, "--seed", 3)
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert invoke("compare", first, second, *common, "--out", local).exit_code == 0
    address = dask_client.scheduler.address
    result = invoke("compare", first, second, *common, "--scheduler", address, "--out", remote)
    assert result.exit_code == 0, result.output
    record = _same_except_where_it_ran(local, remote, "compare.json")
    assert record["dask"] == {"scheduler": address, "workers": 2}


def test_cluster_options_are_checked_before_any_work(sleuth_file, tmp_path):
    both = invoke(
        "analyze", sleuth_file, "--scheduler", "tcp://h:1", "--workers", 2, "--out", tmp_path / "x"
    )
    assert one_line_error(both) == (
        "error: give --scheduler (a running cluster) or --workers (a local one), not both"
    )
    bad = invoke("analyze", sleuth_file, "--scheduler", "localhost:8786", "--out", tmp_path / "y")
    assert "--scheduler must be an address such as tcp://host:8786" in one_line_error(bad)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_an_unreachable_scheduler_is_one_clear_error(sleuth_file, tmp_path, monkeypatch):
    from neuroreview.pipeline import compute

    monkeypatch.setattr(compute, "CONNECT_TIMEOUT", 2)
    out = tmp_path / "z"
    result = invoke(
        "analyze", sleuth_file, "--iterations", 20, "--scheduler", "tcp://127.0.0.1:9", "--out", out
    )
    assert one_line_error(result).startswith(
        "error: cannot reach the Dask scheduler at tcp://127.0.0.1:9"
    )
    assert not out.exists()


def test_review_config_keeps_where_to_compute_and_refuses_both(tmp_path):
    config = ReviewConfig(scheduler="tcp://10.0.0.5:8786", out=tmp_path / "o")
    path = tmp_path / "review.toml"
    path.write_text(config.to_toml())
    assert 'scheduler = "tcp://10.0.0.5:8786"' in path.read_text()
    again = ReviewConfig.from_toml(path)
    assert again.scheduler == "tcp://10.0.0.5:8786" and again.workers is None
    # A local cluster given on the command line replaces the file's scheduler.
    local = ReviewConfig.from_options(path, {"workers": 3})
    assert (local.scheduler, local.workers) == (None, 3)
    assert "workers = 3" in local.to_toml() and "scheduler" not in local.to_toml()
    # Without either, review.toml is as it always was.
    assert "workers" not in ReviewConfig().to_toml()
    with pytest.raises(ValueError, match="not both"):
        ReviewConfig(scheduler="tcp://h:1", workers=2)
    both = invoke("run", "--scheduler", "tcp://h:1", "--workers", 2, "--out", tmp_path / "r")
    assert one_line_error(both) == (
        "error: give --scheduler (a running cluster) or --workers (a local one), not both"
    )
    assert not (tmp_path / "r").exists()
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        ReviewConfig(workers=0)


@pytest.mark.slow
def test_a_whole_run_on_a_cluster_writes_the_pinned_files(dask_client, tmp_path, monkeypatch):
    """The user-corpus run of the output-identity manifest, its Monte Carlo on Dask: every file
    but the records of where it ran is the pinned one."""
    import run_manifest

    address = dask_client.scheduler.address
    monkeypatch.setitem(
        run_manifest.RUNS, "user", [*run_manifest.RUNS["user"], "--scheduler", address]
    )
    # The records' note of where the iterations ran is the one expected difference in them.
    monkeypatch.setattr(run_manifest, "VOLATILE_KEYS", run_manifest.VOLATILE_KEYS | {"dask"})
    expected = json.loads((run_manifest.MANIFESTS / "user.json").read_text(encoding="utf-8"))
    found = run_manifest.run_and_hash("user", tmp_path)
    assert found.keys() == expected.keys()
    changed = sorted(path for path in expected if expected[path] != found[path])
    assert changed == ["review.toml"]
    assert sum(path.endswith(".nii.gz") for path in found) > 20
    out = tmp_path / "out"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["dask"] == {"scheduler": address, "workers": 2}
    analysis = json.loads((out / "ale" / "analysis.json").read_text())
    assert analysis["fwe"]["dask"] == {"scheduler": address, "workers": 2}
    assert f'scheduler = "{address}"' in (out / "review.toml").read_text()
