"""``neuroreview screen ...``: from search results to included studies, in one store.

Each subcommand is one step of the PRISMA 2020 flow: import exports, remove duplicates, read the
next records, decide (and undo), settle conflicts, draw the flow diagram; ``simulate`` measures
how much reading the active-learning order saves on a labelled set.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from neuroreview.cli.common import DbOption, console, friendly_errors
from neuroreview.errors import NeuroreviewError
from neuroreview.store import DEFAULT_DATABASE

app = typer.Typer(
    help="Screen search results: import, dedup, next, decide, undo, conflicts, prisma, simulate.",
    no_args_is_help=True,
)

ReviewerOption = Annotated[
    str,
    typer.Option(
        "--reviewer",
        "-r",
        help="Who is deciding (each reviewer's verdicts stay hidden from the others).",
        envvar="NEUROREVIEW_REVIEWER",
    ),
]
StageOption = Annotated[
    str | None,
    typer.Option(
        metavar="screening|retrieval|eligibility|identification",
        help=(
            "Stage (default: title/abstract screening for next; where the record waits for "
            "decide). identification: remove an unscreened record before screening."
        ),
    ),
]


def _print(text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


@app.command("import")
@friendly_errors
def import_command(
    files: Annotated[
        list[Path], typer.Argument(help="RIS, BibTeX, MEDLINE (.nbib) or CSV exports.")
    ],
    source: Annotated[
        str | None,
        typer.Option(
            help="The database searched (PubMed, Embase...); read from the file if it says."
        ),
    ] = None,
    origin: Annotated[
        str,
        typer.Option(
            metavar="database|register|website|organisation|citation|other",
            help="PRISMA 2020 arm: databases and registers, or other methods.",
        ),
    ] = "database",
    searched: Annotated[
        str | None, typer.Option("--date", metavar="YYYY-MM-DD", help="When the search was run.")
    ] = None,
    format: Annotated[
        str | None, typer.Option(metavar="ris|bibtex|medline|csv|jsonl", help="Override detection.")
    ] = None,
    db: DbOption = DEFAULT_DATABASE,
) -> None:
    """Import search results, one batch per file: all of a file's records, or none."""
    from neuroreview.pipeline.screening import import_references

    search_date = _date(searched)
    for path in files:
        summary = import_references(
            db, path, source=source, origin=origin, search_date=search_date, format=format
        )
        batch = summary.batch
        _print(
            f"batch {batch.id}: {batch.n_records} records from {batch.file} "
            f"({batch.format}, {batch.source or batch.origin.value}"
            f"{', searched ' + str(batch.search_date) if batch.search_date else ''}) "
            f"into {summary.store}"
        )


def _date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise NeuroreviewError(f"--date {text!r} is not a date as YYYY-MM-DD") from None


@app.command("dedup")
@friendly_errors
def dedup(
    show: Annotated[
        bool, typer.Option("--list", help="List the uncertain pairs to decide.")
    ] = False,
    same: Annotated[
        tuple[str, str] | None,
        typer.Option(metavar="DUPLICATE KEPT", help="These two are one report: merge the first."),
    ] = None,
    distinct: Annotated[
        tuple[str, str] | None,
        typer.Option(
            metavar="A B", help="These two are different reports: never propose them again."
        ),
    ] = None,
    undo: Annotated[
        str | None,
        typer.Option(metavar="RECORD", help="Undo the merge of RECORD (kept in history)."),
    ] = None,
    reviewer: Annotated[str, typer.Option("--reviewer", "-r", envvar="NEUROREVIEW_REVIEWER")] = "",
    db: DbOption = DEFAULT_DATABASE,
) -> None:
    """Find and merge duplicates (DOI, PMID, then fuzzy title + year + first author)."""
    from neuroreview.pipeline import screening

    who = reviewer or "unknown"
    if same is not None:
        merge = screening.settle_duplicate(db, same[0], same[1], True, who)
        _print(f"merged {merge.duplicate} into {merge.kept}")
        return
    if distinct is not None:
        screening.settle_duplicate(db, distinct[0], distinct[1], False, who)
        _print(f"{distinct[0]} and {distinct[1]} are distinct records")
        return
    if undo is not None:
        merge = screening.undo_merge(db, undo, who)
        _print(f"{merge.duplicate} is its own record again (was merged into {merge.kept})")
        return
    if not show:
        summary = screening.deduplicate(db)
        _print(
            f"{summary.checked} records checked: {summary.merged} duplicates merged, "
            f"{summary.uncertain} uncertain pairs to decide (neuroreview screen dedup --list)"
        )
    pending = screening.duplicate_candidates(db)
    if show and not pending:
        _print("no uncertain pairs to decide")
    if show:
        for candidate in pending:
            first, second = candidate["records"]
            _print(f"{candidate['first']} ~ {candidate['second']}: {candidate['evidence']}")
            for record in (first, second):
                if record is not None:
                    _print(
                        f"   {record.id}: {record.citation()} [{record.source}, {record.location}]"
                    )


@app.command("next")
@friendly_errors
def next_command(
    reviewer: ReviewerOption,
    stage: StageOption = None,
    limit: Annotated[int, typer.Option(min=1, help="How many records to show.")] = 10,
    model: Annotated[
        str, typer.Option(metavar="logistic|svm", help="The ranking model.")
    ] = "logistic",
    seed: Annotated[
        int, typer.Option(min=0, help="Seed of the order before the model can rank.")
    ] = 0,
    abstracts: Annotated[bool, typer.Option(help="Show each record's abstract.")] = False,
    db: DbOption = DEFAULT_DATABASE,
) -> None:
    """The records a reviewer has still to decide, most likely includes first."""
    from neuroreview.pipeline.screening import next_records

    with console.status("ranking"):
        queue = next_records(
            db, reviewer, stage or "screening", limit=limit, model=model, seed=seed
        )
    _print(
        f"{queue.stage.value}: {queue.remaining} records await {reviewer}; "
        f"{queue.decided_by_reviewer} decided by {reviewer} so far"
    )
    if queue.since_last_include is not None and queue.ranked:
        recall = (
            f", estimated recall {queue.estimated_recall:.0%}"
            if queue.estimated_recall is not None
            else ""
        )
        _print(f"stopping aid: {queue.since_last_include} decisions since the last include{recall}")
    for note in queue.notes:
        _print(note)
    for i, record in enumerate(queue.records):
        score = f" ({queue.scores[i]:.2f})" if queue.scores else ""
        _print(f"{record.id}{score}: {record.citation()}")
        if abstracts and record.abstract:
            _print(f"    {record.abstract}")


@app.command("decide")
@friendly_errors
def decide_command(
    record: Annotated[str, typer.Argument(help="The record's id (as `screen next` shows it).")],
    verdict: Annotated[str, typer.Argument(metavar="include|exclude|maybe")],
    reviewer: ReviewerOption,
    stage: StageOption = None,
    reason: Annotated[
        str | None,
        typer.Option(help="Why excluded (required at full text, from the review's list)."),
    ] = None,
    resolve: Annotated[
        bool, typer.Option("--resolve", help="Settle the reviewers' conflict on this record.")
    ] = False,
    db: DbOption = DEFAULT_DATABASE,
) -> None:
    """Record a verdict; an included record becomes a study in the store, ready to extract."""
    from neuroreview.pipeline.screening import decide

    decided = decide(db, record, verdict, reviewer, stage=stage, reason=reason, resolve=resolve)
    _print(f"{record}: {decided.state.place.value}")
    if decided.study is not None:
        _print(f"study {decided.study.id} added to the store for extraction")


@app.command("undo")
@friendly_errors
def undo_command(
    record: Annotated[str, typer.Argument(help="The record's id (as `screen next` shows it).")],
    reviewer: ReviewerOption,
    db: DbOption = DEFAULT_DATABASE,
) -> None:
    """Withdraw your latest decision on a record (kept in its history as a withdrawal)."""
    from neuroreview.pipeline.screening import undo_decision

    undone = undo_decision(db, record, reviewer)
    withdrawn = undone.record.decisions[-1]
    why = f" ({withdrawn.reason})" if withdrawn.reason else ""
    _print(
        f"{record}: {reviewer}'s {withdrawn.verdict.value}{why} at {withdrawn.stage.value} "
        f"undone; now {undone.state.place.value}"
    )


@app.command("conflicts")
@friendly_errors
def conflicts_command(stage: StageOption = None, db: DbOption = DEFAULT_DATABASE) -> None:
    """Records whose reviewers all decided and disagree, with each verdict."""
    from neuroreview.pipeline.screening import conflict_reviews, conflicts

    found = conflicts(db, stage)
    if not found:
        _print("no conflicts")
        return
    for state in found:
        _print(f"{state.record.id} at {state.conflict.value}: {state.record.citation()}")
        for review in conflict_reviews(state):
            why = f" ({review.reason})" if review.reason else ""
            _print(f"   {review.reviewer}: {review.verdict.value}{why}")


@app.command("prisma")
@friendly_errors
def prisma(
    out: Annotated[
        Path | None, typer.Option(help="Write prisma.svg, prisma.png and prisma.json here.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace prisma.* files already in --out.")] = False,
    db: DbOption = DEFAULT_DATABASE,
) -> None:
    """The PRISMA 2020 counts, reviewer agreement (kappa) and the flow diagram."""
    from neuroreview.pipeline.screening import screening_report, write_prisma

    report = screening_report(db)
    if report is None:
        raise NeuroreviewError(f"{db} holds no screening records; import some with `screen import`")
    counts = report.counts
    table = Table("box", "databases and registers", "other methods")
    db_arm, other = counts.databases, counts.other_methods
    rows = [
        ("records identified", db_arm.n_identified, other.n_identified),
        ("duplicates removed", db_arm.duplicates, other.duplicates),
        ("removed by automation tools", db_arm.automation, other.automation),
        ("removed for other reasons", db_arm.other_removed, other.other_removed),
        ("records screened", db_arm.screened, "-"),
        ("records excluded", db_arm.excluded_screening, "-"),
        ("awaiting screening", db_arm.awaiting_screening, "-"),
        ("reports sought for retrieval", db_arm.sought, other.sought),
        ("reports not retrieved", db_arm.not_retrieved, other.not_retrieved),
        ("awaiting retrieval", db_arm.awaiting_retrieval, other.awaiting_retrieval),
        ("reports assessed for eligibility", db_arm.assessed, other.assessed),
        ("reports excluded", db_arm.n_excluded_full_text, other.n_excluded_full_text),
        ("awaiting full-text assessment", db_arm.awaiting_eligibility, other.awaiting_eligibility),
        ("reports included", db_arm.included, other.included),
        ("records in conflict", db_arm.conflicts, other.conflicts),
    ]
    for name, a, b in rows:
        table.add_row(name, str(a), str(b))
    console.print(table)
    _print(f"studies included: {counts.studies} (from {counts.reports} reports)")
    for agreement in report.agreement:
        if not agreement.n_records:
            continue
        kappa = agreement.fleiss_kappa
        _print(
            f"{agreement.stage.value}: {agreement.agreed}/{agreement.n_records} records agreed; "
            f"Fleiss' kappa {'undefined' if kappa is None else f'{kappa:.2f}'} "
            f"({agreement.fleiss_records} records, {agreement.raters} reviewers each)"
        )
        for pair in agreement.pairs:
            value = "undefined" if pair.kappa is None else f"{pair.kappa:.2f}"
            _print(
                f"   {pair.reviewers[0]} / {pair.reviewers[1]}: Cohen's kappa {value} "
                f"over {pair.n_records} records"
            )
    if out is not None:
        for path in write_prisma(report, out, force):
            _print(f"wrote {path}")


@app.command("settings")
@friendly_errors
def settings(
    reviewers: Annotated[
        list[str] | None,
        typer.Option(metavar="STAGE=N", help="Independent reviewers a stage needs (repeatable)."),
    ] = None,
    reason: Annotated[
        list[str] | None,
        typer.Option(help="The full-text exclusion reasons (repeat; replaces the list)."),
    ] = None,
    db: DbOption = DEFAULT_DATABASE,
) -> None:
    """Show or set the review's screening rules: reviewers per stage, exclusion reasons."""
    from neuroreview.pipeline.screening import configure

    counts = {}
    for item in reviewers or []:
        stage, _, number = item.partition("=")
        if not number.strip().isdigit():
            raise NeuroreviewError(f"--reviewers {item!r}: write it as STAGE=N, e.g. screening=2")
        counts[stage.strip()] = int(number)
    plan = configure(db, counts, reason)
    for stage, count in plan.reviewers.items():
        _print(f"{stage.value}: {count} reviewer{'s' if count > 1 else ''} per record")
    _print("full-text exclusion reasons: " + "; ".join(plan.reasons))


@app.command("simulate")
@friendly_errors
def simulate(
    labelled: Annotated[
        Path, typer.Argument(help="A labelled set: JSON lines with a labels list.")
    ],
    label: Annotated[str, typer.Option(help="The label that marks a relevant record.")],
    seeds: Annotated[int, typer.Option(min=1, help="Runs, with seeds 0..N-1.")] = 5,
    model: Annotated[str, typer.Option(metavar="logistic|svm")] = "logistic",
) -> None:
    """Screen a labelled set in the model's order and at random: WSS@95 and RRF@10 per seed."""
    from rich.progress import Progress

    from neuroreview.pipeline.screening import simulate_file

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("simulating", total=seeds)
        rows = simulate_file(labelled, label, range(seeds), model, lambda: progress.advance(task))
    table = Table("seed", "WSS@95", "random", "RRF@10", "random", "seconds")
    for row in rows:
        table.add_row(
            str(row.seed),
            f"{row.wss95:.1%}",
            f"{row.random_wss95:.1%}",
            f"{row.rrf10:.1%}",
            f"{row.random_rrf10:.1%}",
            f"{row.seconds:.1f}",
        )
    _print(
        f"{labelled.name}: {rows[0].n_relevant} of {rows[0].n_records} records labelled {label!r}"
    )
    console.print(table)
