"""What ``neuroreview run`` prints when it is done: the corpus, then one line per step."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from neuroreview.cli.common import console
from neuroreview.io.layout import QUESTIONS_FOLDER, REGIONS_FOLDER
from neuroreview.pipeline.review import CBMA_METHODS, LABELS, ReviewResult


def print_corpus(summary, origin: str) -> None:
    _say(
        f"[bold]{summary.n_studies} studies[/bold] from {origin}: "
        f"{summary.n_coordinate_studies} with coordinates ({summary.n_analyses} analyses, "
        f"{summary.n_foci} foci), {summary.n_region_studies} with region findings "
        f"({summary.n_region_findings})"
    )
    rows = summary.crosstab_rows()
    console.print("Studies by modality x population:")
    table = Table()
    for i, name in enumerate(rows[0]):
        table.add_column(str(name), justify="left" if i == 0 else "right")
    for row in rows[1:]:
        table.add_row(*(str(v) for v in row))
    console.print(table)


def print_steps(record: ReviewResult, out: Path) -> None:
    """One line per step after the corpus summary."""
    select = record.steps["select"]
    reasons = ", ".join(f"{n} {r}" for r, n in select["left_out_by_reason"].items() if n)
    console.print(
        f"selection: {select['n_coordinate_studies']} coordinate studies "
        f"({select['n_experiments']} experiments, {select['n_foci']} foci) of exposure "
        f"{' or '.join(select['exposures'])}; {select['n_left_out']} left out"
        + (f" ({reasons})" if reasons else "")
        + (
            f"; {select['n_analyses_unknown_space']} analyses in an unknown space dropped"
            if select["n_analyses_unknown_space"]
            else ""
        )
    )
    dask = record.document["settings"].get("dask")
    if dask:
        _say(f"Monte Carlo on Dask: {dask['workers']} workers ({dask['scheduler']})")
    for method in CBMA_METHODS:
        step = record.steps[method]
        if step["status"] == "skipped":
            line = f"{LABELS[method]}: skipped: {step['reason']}"
        else:
            imputed = step.get("n_experiments_imputed", 0)
            imputation = step.get("sample_size_imputation") or {}
            sensitivity = [
                r for r in imputation.get("sensitivity", []) if r["scenario"] != "imputed"
            ]
            held = all(r["same_clusters"] for r in sensitivity)
            line = (
                f"{LABELS[method]}: {step['n_experiments']} experiments ({step['n_foci']} foci), "
                f"{step['n_iters_run']} Monte Carlo iterations (seed {step['seed']}): "
                f"{step['n_clusters']} clusters survive cluster-level FWE p < {step['alpha']:g}"
                + (
                    f"; {imputed} experiment(s) without a sample size given the median N = "
                    f"{imputation['value']:g}, clusters "
                    + ("unchanged" if held else "changed")
                    + " at the smallest and largest reported N"
                    if imputed
                    else ""
                )
                + "".join(
                    f"; cluster {c['cluster_id']} survives {c['survives_conventions']} "
                    f"conventions, {c['survives_jitters']} jitters"
                    for c in step.get("convention_sensitivity", [])
                )
                + f" -> {out / step['folder']}/"
            )
        _say(line)
    questions = record.steps.get("questions")
    for question in (questions or {}).get("questions", []):
        parts = "; ".join(
            f"{part['direction']}: {part['status']}"
            + (
                ", "
                + ", ".join(
                    f"{LABELS[m]} {a['n_clusters']} clusters"
                    if a["status"] == "run"
                    else f"{LABELS[m]} skipped"
                    for m, a in part["analyses"].items()
                )
                if part["analyses"]
                else ""
            )
            for part in question["parts"]
        )
        _say(
            f"question {question['title']}: {parts} (minimum {questions['minimum']} "
            f"experiments) -> {out / QUESTIONS_FOLDER}/"
        )
    regions = record.steps["regions"]
    clusters = (
        f", with the {regions['clusters_from'].upper()} clusters"
        if regions["clusters_from"]
        else ", without clusters (no ALE)"
    )
    _say(
        f"regions: {regions['n_studies']} studies, {regions['n_regions_voted']} regions voted, "
        f"{regions['n_pooled_effects']} pooled effects{clusters}; {regions['n_exclusions']} "
        f"excluded -> {out / REGIONS_FOLDER}/"
    )
    decode = record.steps.get("decode")
    if decode is not None:
        _say(
            f"decoding: {decode['n_maps']} maps, {decode['n_clusters']} clusters and "
            f"{decode['n_regions']} converging regions against {decode['topics']}"
            + (f"; {decode['n_not_decoded']} not decoded" if decode["n_not_decoded"] else "")
            + f" -> {out / decode['folder']}/"
        )
    report = record.steps.get("report")
    if report is not None:
        _say(
            f"report: {out / report['file']} (figures and tables in {out / report['folder']}/, "
            f"provenance in {out / report['provenance']})"
        )


def _say(text: str) -> None:
    """One plain line: file paths and ids are not Rich markup."""
    console.print(text, markup=False, highlight=False)
