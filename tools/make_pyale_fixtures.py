"""Make the pyALE reference fixtures in ``tests/data/pyale`` by running pyALE itself.

pyALE (the Juelich group's Python ALE, https://github.com/LenFrahm/pyALE) is not a package and
its code stays out of ours: this script takes a checkout of it, writes synthetic datasets in its
Excel input format, and calls its own ``read_exp_info`` (Talairach conversion, placement on the
grid, kernels, MA maps) and ``compute_ale``. What it writes, per dataset:

* ``<name>.json``: how the set was made (seed, pyALE commit), every experiment's rows as pyALE
  read them (author, subjects, space, x, y, z in mm), and the voxel pyALE placed each focus on
  (its 0-based (i, j, k) on the 91 x 109 x 91 MNI152 2 mm grid, x running right to left);
  for ``converging`` also ``null``: pyALE's cluster-level inference at a null of 40 datasets
  (``compute_null_cutoffs`` from ``np.random.seed(0)``): the voxels it drew for each, its
  largest ALE and cluster per dataset, the cutoff (95th percentile) and the surviving voxels;
* ``<name>.npz``: pyALE's ALE map at a fixed sample of voxels (every fourth voxel along each
  axis, the 3 x 3 x 3 neighbourhood of every focus, and the map's maximum): flat indices
  (C order) and float64 values; and ``hx_conv``, its analytic null (the upper tail of the ALE
  histogram per 1e-4 bin), computed over our MNI152 brain mask put in place of pyALE's (whose
  licence does not let us ship it).

Run: ``python tools/make_pyale_fixtures.py /path/to/pyALE`` (a checkout; its commit is
recorded). Needs pandas and openpyxl to write the Excel files pyALE reads.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "pyale"
SHAPE = (91, 109, 91)
#: MNI152 2 mm (FSL) affine, pyALE's template's: i = (90 - x) / 2, j = (y + 126) / 2,
#: k = (z + 72) / 2.
AFFINE = np.array([[-2.0, 0, 0, 90], [0, 2.0, 0, -126], [0, 0, 2.0, -72], [0, 0, 0, 1]])


def _brain_points(rng: np.random.Generator, n: int) -> np.ndarray:
    """n integer mm points inside the brain: voxel centres of the MNI152 2 mm mask moved by
    -1, 0 or +1 mm per axis, so odd and even coordinates both occur."""
    from neuroreview.space.grid import brain_mask_array

    voxels = np.argwhere(brain_mask_array())
    picked = voxels[rng.integers(0, len(voxels), n)]
    mm = picked @ AFFINE[:3, :3].T + AFFINE[:3, 3]
    return mm + rng.integers(-1, 2, size=(n, 3))


def mixed_set(seed: int = 1) -> list[dict]:
    """14 experiments, 144 foci, half of the experiments in Talairach; like a small published
    ALE (the antidepressant ALE the issue measured has 14 experiments and 144 foci)."""
    rng = np.random.default_rng(seed)
    sizes = [4, 6, 8, 10, 12, 14, 16, 9, 11, 13, 7, 15, 10, 9]
    points = _brain_points(rng, sum(sizes))
    rows, start = [], 0
    for e, size in enumerate(sizes):
        space = "TAL" if e % 2 else "MNI"
        subjects = int(rng.integers(8, 41))
        for x, y, z in points[start : start + size]:
            rows.append(
                {
                    "author": f"Study{e:02d}",
                    "subjects": subjects,
                    "space": space,
                    "x": float(x),
                    "y": float(y),
                    "z": float(z),
                }
            )
        start += size
    return rows


def edge_set(seed: int = 2) -> list[dict]:
    """Foci with fractional coordinates, exact half-voxel positions and points at or beyond the
    grid's edges (pyALE clips indices into [1, n - 1])."""
    rng = np.random.default_rng(seed)
    fixed = [
        (90.0, -126.0, -72.0),
        (-90.0, 90.0, 108.0),
        (91.0, 92.0, 110.0),
        (-92.0, -128.0, -74.0),
        (0.0, 0.0, 0.0),
        (1.0, 1.0, 1.0),
        (-1.0, -1.0, -1.0),
        (12.5, -33.25, 40.75),
        (-12.5, 33.5, -40.5),
        (45.0, 17.0, 23.0),
        (-45.0, -17.0, -23.0),
        (0.4, -0.6, 2.2),
    ]
    more = _brain_points(rng, 18) + rng.uniform(-0.99, 0.99, size=(18, 3)).round(2)
    points = [*fixed, *map(tuple, more)]
    rows = []
    for f, (x, y, z) in enumerate(points):
        e = f // 6
        rows.append(
            {
                "author": f"Edge{e}",
                "subjects": 10 + 5 * e,
                "space": "TAL" if e == 2 else "MNI",
                "x": float(x),
                "y": float(y),
                "z": float(z),
            }
        )
    return rows


def converging_set(seed: int = 3) -> list[dict]:
    """12 experiments that mostly report both anterior insulae (within a few mm) besides
    random foci: an ALE with clusters, for the cluster-level rules."""
    rng = np.random.default_rng(seed)
    rows = []
    for e in range(12):
        subjects = int(rng.integers(10, 31))
        points = [(40, 20, -2), (-38, 20, 0)][: 1 + (e % 4 != 0)]
        points = [tuple(np.add(p, rng.integers(-3, 4, 3))) for p in points]
        points += [tuple(v) for v in _brain_points(rng, 3)]
        for x, y, z in points:
            rows.append(
                {
                    "author": f"Conv{e:02d}",
                    "subjects": subjects,
                    "space": "TAL" if e % 3 == 0 else "MNI",
                    "x": float(x),
                    "y": float(y),
                    "z": float(z),
                }
            )
    return rows


DATASETS = {"mixed": (mixed_set, 1), "edges": (edge_set, 2), "converging": (converging_set, 3)}
#: Null datasets drawn for the cluster-level fixture (``converging``): pyALE's own loop.
NULL_REPEATS = 40


def _sample_indices(xyz: list[np.ndarray], ale: np.ndarray) -> np.ndarray:
    grid = np.zeros(SHAPE, dtype=bool)
    grid[::4, ::4, ::4] = True
    for ijk in xyz:
        for i, j, k in ijk.T:
            grid[max(i - 1, 0) : i + 2, max(j - 1, 0) : j + 2, max(k - 1, 0) : k + 2] = True
    grid.flat[int(np.argmax(ale))] = True
    return np.flatnonzero(grid).astype(np.int32)


def _our_mask_on_pyales_grid() -> np.ndarray:
    """Our MNI152 2 mm brain mask, x axis turned to pyALE's right-to-left grid. pyALE's own
    mask (Grey10.nii) is not ours to ship; with this one the fixtures need nothing of pyALE."""
    from neuroreview.space.grid import brain_mask_array

    return np.ascontiguousarray(brain_mask_array()[::-1])


def run_pyale(pyale: Path, rows: list[dict]) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """(per experiment, pyALE's 3 x n voxel indices; the ALE map; the null's tail ``hx_conv``),
    from pyALE's own code, its mask replaced by ours (see ``_our_mask_on_pyales_grid``)."""
    sys.path.insert(0, str(pyale))
    import utils.compute as compute  # noqa: PLC0415 (pyALE's module, found at run time)
    from utils.compute import compute_ale, compute_hx, compute_hx_conv  # noqa: PLC0415
    from utils.read_exp_info import read_exp_info  # noqa: PLC0415

    compute.prior = _our_mask_on_pyales_grid()
    compute.sample_space = np.array(np.where(compute.prior))

    table = pd.DataFrame(
        {
            "Author": [r["author"] for r in rows],
            "Subjects": [r["subjects"] for r in rows],
            "x": [r["x"] for r in rows],
            "y": [r["y"] for r in rows],
            "z": [r["z"] for r in rows],
            "Space": [r["space"] for r in rows],
            "Cond": ["all"] * len(rows),
        }
    )
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as work:
        os.chdir(work)
        try:
            Path("Results").mkdir()
            table.to_excel("input.xlsx", index=False)
            experiments, _ = read_exp_info("input.xlsx")
        finally:
            os.chdir(here)
    xyz = [np.asarray(v, dtype=np.int64) for v in experiments.XYZ]
    ma = np.array([m for m in experiments.MA.values])
    # main_effect's histogram set-up, as pyALE writes it (analysis/main_effect.py).
    mb = 1.0
    for kernel in experiments.Kernels:
        mb = mb * (1 - np.max(kernel))
    bin_steps = 0.0001
    bin_edges = np.arange(0.00005, 1 - mb + 0.001, bin_steps)
    bin_centers = np.arange(0, 1 - mb + 0.001, bin_steps)
    hx_conv = compute_hx_conv(compute_hx(ma, bin_edges), bin_centers, int(1 / bin_steps))
    return xyz, compute_ale(ma), hx_conv, experiments


def run_pyale_null(pyale: Path, experiments, ale: np.ndarray, hx_conv: np.ndarray) -> dict:
    """pyALE's cluster-level inference at a null of ``NULL_REPEATS`` datasets, and the draws it
    made: per null dataset, per experiment, the indices into its sample space (its mask's
    voxels in C order) that ``np.random.randint`` returned, recorded as pyALE called it."""
    sys.path.insert(0, str(pyale))
    import utils.compute as compute  # noqa: PLC0415

    drawn: list[np.ndarray] = []
    randint = np.random.randint

    def recording(*args, **kwargs):
        values = randint(*args, **kwargs)
        drawn.append(np.asarray(values, dtype=np.int64))
        return values

    np.random.seed(0)
    compute.np.random.randint = recording
    try:
        maxima, sizes = [], []
        for _ in range(NULL_REPEATS):
            max_ale, max_cluster, _ = compute.compute_null_cutoffs(
                s0=list(range(experiments.shape[0])),
                sample_space=compute.sample_space,
                num_peaks=experiments.Peaks,
                kernels=experiments.Kernels,
                hx_conv=hx_conv,
                cluster_thresh=0.001,
                tfce_enabled=False,
            )
            maxima.append(float(max_ale))
            sizes.append(float(max_cluster))
    finally:
        compute.np.random.randint = randint
    cut = float(np.percentile(sizes, 95))
    z = compute.compute_z(ale, hx_conv, 10000)
    z[compute.prior == 0] = 0  # as main_effect's plot_and_save leaves it
    z_kept, _ = compute.compute_cluster(z, cluster_thresh=0.001, cut_cluster=cut)
    n = experiments.shape[0]
    return {
        "null_draws": [
            [d.tolist() for d in drawn[r * n : (r + 1) * n]] for r in range(NULL_REPEATS)
        ],
        "null_max_ale": maxima,
        "null_max_cluster": sizes,
        "cluster_cut": cut,
        "surviving_voxels": np.flatnonzero(z_kept > 0).tolist(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pyale", type=Path, help="a checkout of github.com/LenFrahm/pyALE")
    args = parser.parse_args()
    commit = (
        subprocess.run(
            ["git", "-C", str(args.pyale), "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        or "unknown (not a git checkout)"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (make, seed) in DATASETS.items():
        rows = make(seed)
        xyz, ale, hx_conv, experiments = run_pyale(args.pyale, rows)
        index = _sample_indices(xyz, ale)
        record = {
            "made_by": "tools/make_pyale_fixtures.py",
            "pyale": {"repository": "https://github.com/LenFrahm/pyALE", "commit": commit},
            "dataset": name,
            "seed": seed,
            "rows": rows,
            "pyale_voxels": [ijk.T.tolist() for ijk in xyz],
            "ale_max": float(ale.max()),
            "ale_sum": float(ale.sum()),
        }
        if name == "converging":
            record["null"] = run_pyale_null(args.pyale, experiments, ale, hx_conv)
        (OUT / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
        np.savez_compressed(OUT / f"{name}.npz", index=index, ale=ale.flat[index], hx_conv=hx_conv)
        print(f"{name}: {len(rows)} foci, {len(xyz)} experiments, {index.size} voxels sampled")


if __name__ == "__main__":
    main()
