"""What ``neuroreview analyze`` prints when it is done: the analysis, imputation and clusters."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from neuroreview.cli.common import console
from neuroreview.io.layout import ANALYSIS_RECORD, CLUSTER_TABLE

if TYPE_CHECKING:
    import pandas as pd


def print_analysis(record: dict[str, Any], clusters: pd.DataFrame, out: Path) -> None:
    fwe = record["fwe"]
    iterations = f", {fwe['n_iters_run']} Monte Carlo iterations" if fwe else ", no FWE"
    if fwe and fwe.get("dask"):
        where = fwe["dask"]
        iterations += f" on Dask ({where['workers']} workers, {where['scheduler']})"
    console.print(
        f"[bold]{record['method'].upper()}[/bold] on {record['n_experiments']} experiments "
        f"({record['n_foci']} foci){iterations}"
    )
    imputation = record.get("sample_size_imputation")
    if imputation and imputation["n_imputed"]:
        console.print(imputation["description"], markup=False, highlight=False)
        for row in imputation["sensitivity"]:
            console.print(
                f"  N = {row['imputed_n']:g} ({row['scenario']}): {row['n_clusters']} clusters, "
                f"{row['imputed_clusters_kept']} imputed-N clusters kept, "
                f"Dice {row['dice_with_imputed']:.2f}",
                markup=False,
                highlight=False,
            )
    main = clusters[~clusters["subpeak"]]
    if fwe:
        alpha = record["clusters"]["alpha"]
        console.print(f"{len(main)} clusters survive cluster-level FWE p < {alpha:g}")
    else:
        console.print(f"{len(main)} clusters at the uncorrected cluster-forming threshold")
    if len(main):
        table = Table()
        tested = "survives_conventions" in main.columns
        columns = ["cluster", "voxels", "mm3", "x", "y", "z", "peak z"] + (["p FWE"] if fwe else [])
        columns += ["conventions", "jitters"] if tested else []
        for column in columns:
            table.add_column(column, justify="right")
        table.add_column("AAL3 label at peak")
        for row in main.itertuples():
            cells = [row.cluster_id, row.size_voxels, row.size_mm3, row.x, row.y, row.z]
            cells = [f"{c:g}" for c in cells] + [f"{row.peak_stat:.2f}"]
            cells += [f"{row.p_corrected:.4g}"] if fwe else []
            cells += [row.survives_conventions, row.survives_jitters] if tested else []
            table.add_row(*cells, row.label)
        console.print(table)
    console.print(
        f"results written to {out}/ ({len(record['maps'])} maps, {CLUSTER_TABLE}, {ANALYSIS_RECORD})"
    )
