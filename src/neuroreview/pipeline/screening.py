"""Screening a review's search results in its store: import, deduplicate, decide, count.

Every command opens the store, does one thing in one transaction and closes it, so several
reviewers can screen from the same store (SQLite file or PostgreSQL) at once. What the
screening core decides (where a record stands, the PRISMA counts, agreement) is recomputed from
the stored history each time, never cached, so it cannot drift from the decisions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from neuroreview.errors import InputError, NeuroreviewError
from neuroreview.model import (
    Decision,
    DecisionRole,
    ImportBatch,
    Merge,
    Origin,
    Record,
    Stage,
    Study,
    Verdict,
)
from neuroreview.screening.flow import (
    DECIDED_STAGES,
    DEFAULT_REASONS,
    Place,
    RecordState,
    ScreeningPlan,
    latest_reviews,
    record_state,
    record_states,
)
from neuroreview.screening.prisma import PrismaCounts, prisma_counts

#: Settings keys in the store.
REVIEWERS_KEY = "reviewers"
REASONS_KEY = "reasons"


def _open(db: str, create: bool = False):
    from neuroreview.store import Repository

    return Repository(db, create=create)


# --- the plan ------------------------------------------------------------------------------


def plan_of(repository) -> ScreeningPlan:
    """The review's screening rules as stored, or the defaults."""
    stored = repository.screening_settings()
    plan = ScreeningPlan()
    reviewers = dict(plan.reviewers)
    for stage, count in (stored.get(REVIEWERS_KEY) or {}).items():
        reviewers[Stage.parse(stage)] = int(count)
    reasons = tuple(stored.get(REASONS_KEY) or DEFAULT_REASONS)
    return ScreeningPlan(reviewers=reviewers, reasons=reasons)


def configure(
    db: str,
    reviewers: dict[str, int] | None = None,
    reasons: Sequence[str] | None = None,
) -> ScreeningPlan:
    """Set how many reviewers each stage needs and the full-text exclusion reasons."""
    with _open(db, create=True) as repository:
        plan = plan_of(repository)
        counts = {s: plan.reviewers[s] for s in DECIDED_STAGES}
        for stage, count in (reviewers or {}).items():
            counts[Stage.parse(stage)] = count
        new_reasons = tuple(r.strip() for r in reasons) if reasons is not None else plan.reasons
        try:
            plan = ScreeningPlan(reviewers=counts, reasons=new_reasons)
        except ValueError as error:
            raise NeuroreviewError(str(error)) from None
        repository.set_screening_settings(
            {
                REVIEWERS_KEY: {s.value: n for s, n in plan.reviewers.items()},
                REASONS_KEY: list(plan.reasons),
            }
        )
    return plan


# --- import --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportSummary:
    batch: ImportBatch
    store: str


def import_references(
    db: str,
    path: str | Path,
    *,
    source: str | None = None,
    origin: str | None = None,
    search_date: date | None = None,
    format: str | None = None,
) -> ImportSummary:
    """One export file into the store as one batch: all its records or none.

    The same file (by content) imported twice is refused, since its records would all be
    duplicates and PRISMA would count them twice among those identified.
    """
    from neuroreview.io.references import read_references

    path = Path(path)
    found = read_references(path, format=format)
    where = Origin.parse(origin) if origin else Origin.DATABASE
    named = source or found.source
    if named is None and not where.other_methods:
        raise InputError(
            "does not say which database it was exported from; name it with --source "
            "(PRISMA 2020 counts records per database)",
            path,
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with _open(db, create=True) as repository:
        earlier = [b for b in repository.list_batches() if b.sha256 == digest]
        if earlier:
            raise InputError(
                f"was already imported as batch {earlier[0].id} ({earlier[0].file}, "
                f"{earlier[0].n_records} records); importing it again would count its records twice",
                path,
            )
        batch_id = str(len(repository.list_batches()) + 1)
        batch = ImportBatch(
            id=batch_id,
            file=path.name,
            sha256=digest,
            format=found.format,
            source=named,
            origin=where,
            search_date=search_date,
            n_records=len(found.records),
        )
        records = [
            r.model_copy(
                update={
                    "id": f"{batch_id}.{r.id}",
                    "source": named,
                    "origin": where,
                    "search_date": search_date,
                    "batch": batch_id,
                }
            )
            for r in found.records
        ]
        repository.add_import(batch, records)
        return ImportSummary(batch, repository.url)


# --- deduplication -------------------------------------------------------------------------


@dataclass(frozen=True)
class DedupSummary:
    checked: int
    merged: int
    uncertain: int
    merges: tuple[Merge, ...]


def deduplicate(db: str, by: str = "automatic") -> DedupSummary:
    """Merge the certain duplicates among the records not yet merged; list the uncertain."""
    from neuroreview.screening.dedup import find_duplicates

    with _open(db) as repository:
        records = [r for r in repository.list_records() if r.duplicate_of is None]
        known = repository.list_candidates()
        distinct = {
            frozenset((c["first"], c["second"])) for c in known if c["status"] == "distinct"
        }
        pending = {frozenset((c["first"], c["second"])) for c in known if c["status"] == "pending"}
        pairs = find_duplicates(records, distinct=distinct)
        merges = tuple(
            Merge(
                duplicate=p.duplicate,
                kept=p.kept,
                evidence=p.evidence,
                score=p.score,
                decided_by=by,
            )
            for p in pairs
            if p.certain
        )
        uncertain = [
            (p.duplicate, p.kept, p.score, p.evidence)
            for p in pairs
            if not p.certain and frozenset((p.duplicate, p.kept)) not in pending
        ]
        repository.merge_records(merges)
        added = repository.add_candidates(uncertain)
    return DedupSummary(len(records), len(merges), added, merges)


def duplicate_candidates(db: str, status: str | None = "pending") -> list[dict[str, Any]]:
    """Uncertain pairs with both records, for a person to compare."""
    with _open(db) as repository:
        records = {r.id: r for r in repository.list_records()}
        out = []
        for candidate in repository.list_candidates(status):
            first, second = records.get(candidate["first"]), records.get(candidate["second"])
            out.append(candidate | {"records": (first, second)})
    return out


def settle_duplicate(db: str, first: str, second: str, same: bool, by: str) -> Merge | None:
    """A person's answer on a pair: the same report (merge, keeping ``second``) or distinct."""
    with _open(db) as repository:
        records = {r.id: r for r in repository.list_records()}
        for record_id in (first, second):
            if record_id not in records:
                raise NeuroreviewError(f"no record {record_id!r} in {repository.name}")
        if not same:
            repository.mark_distinct(first, second, by)
            return None
        merge = Merge(
            duplicate=first,
            kept=second,
            evidence="judged the same report",
            score=1.0,
            decided_by=by,
        )
        repository.merge_records([merge], settled=[(first, second)])
        return merge


def undo_merge(db: str, duplicate: str, by: str) -> Merge:
    with _open(db) as repository:
        return repository.undo_merge(duplicate, by)


# --- decisions -----------------------------------------------------------------------------


def _states(repository) -> tuple[list[RecordState], ScreeningPlan]:
    plan = plan_of(repository)
    return record_states(repository.list_records(), plan), plan


@dataclass(frozen=True)
class Queue:
    """What a reviewer should read next at a stage, and how far screening has come."""

    stage: Stage
    reviewer: str
    records: list[Record]
    scores: list[float] | None
    ranked: bool
    decided_by_reviewer: int
    remaining: int
    since_last_include: int | None = None
    estimated_recall: float | None = None
    notes: list[str] = field(default_factory=list)


def next_records(
    db: str,
    reviewer: str,
    stage: str | Stage = Stage.SCREENING,
    *,
    limit: int = 10,
    model: str = "logistic",
    seed: int = 0,
) -> Queue:
    """The records ``reviewer`` has still to decide at ``stage``, most likely includes first.

    Title/abstract records are ranked by a model trained on what the reviewer may see: the
    settled outcomes, and the reviewer's own verdicts on unsettled records, never another
    reviewer's pending verdict (the review stays blind).
    """
    from neuroreview.screening.ranking import rank

    stage = Stage.parse(stage)
    with _open(db) as repository:
        states, _plan = _states(repository)
    waiting = [
        s
        for s in states
        if s.next_stage is stage
        and s.conflict is None
        and reviewer not in {d.reviewer for d in latest_reviews(s.record.decisions, stage)}
    ]
    mine = sum(
        1
        for s in states
        if reviewer in {d.reviewer for d in latest_reviews(s.record.decisions, stage)}
    )
    if stage is not Stage.SCREENING or not waiting:
        return Queue(
            stage, reviewer, [s.record for s in waiting[:limit]], None, False, mine, len(waiting)
        )
    pool = [
        s for s in states if not s.record.origin.other_methods and s.place is not Place.DUPLICATE
    ]
    index = {s.record.id: i for i, s in enumerate(pool)}
    decided = _visible_labels(pool, reviewer)
    texts = [s.record.text() for s in pool]
    candidates = {index[s.record.id] for s in waiting}
    ranking = rank(texts, decided, model=model, seed=seed)
    order = [
        (i, score)
        for i, score in zip(ranking.order, ranking.scores, strict=True)
        if i in candidates
    ]
    picked = order[:limit]
    notes = []
    if not ranking.trained:
        notes.append(
            "not ranked yet: the model needs at least one include and one exclude; "
            "records are in a random order (seeded)"
        )
    return Queue(
        stage,
        reviewer,
        [pool[i].record for i, _ in picked],
        [score for _, score in picked] if ranking.trained else None,
        ranking.trained,
        mine,
        len(waiting),
        ranking.since_last_include,
        ranking.estimated_recall,
        notes,
    )


def _visible_labels(pool: Sequence[RecordState], reviewer: str) -> list[tuple[int, bool]]:
    """(index, included) a reviewer may learn from, in the order the decisions were made."""
    labelled: list[tuple[Any, int, bool]] = []
    for i, state in enumerate(pool):
        if state.place in (Place.REMOVED_AUTOMATION, Place.REMOVED_OTHER):
            continue
        decisions = [d for d in state.record.decisions if d.stage is Stage.SCREENING]
        if state.place is Place.AWAITING_SCREENING:
            own = [d for d in decisions if d.reviewer == reviewer and d.role is DecisionRole.REVIEW]
            if own:
                labelled.append((own[-1].time, i, own[-1].verdict is not Verdict.EXCLUDE))
        elif decisions:
            included = state.place is not Place.EXCLUDED_SCREENING
            labelled.append((decisions[-1].time, i, included))
    labelled.sort(key=lambda item: (item[0], item[1]))
    return [(i, included) for _, i, included in labelled]


@dataclass(frozen=True)
class Decided:
    record: Record
    state: RecordState
    study: Study | None


def decide(
    db: str,
    record_id: str,
    verdict: str,
    reviewer: str,
    *,
    stage: str | Stage | None = None,
    reason: str | None = None,
    resolve: bool = False,
) -> Decided:
    """Record one reviewer's verdict; when it settles a record as included, make its study.

    The stage defaults to the one the record waits at. A resolution is only taken on a record
    whose reviewers disagree, and only once all of them have decided.
    """
    with _open(db) as repository:
        plan = plan_of(repository)
        records = {r.id: r for r in repository.list_records()}
        if record_id not in records:
            raise NeuroreviewError(f"no record {record_id!r} in {repository.name}")
        record = records[record_id]
        state = record_state(record, plan)
        chosen = _stage_to_decide(state, stage, resolve)
        the_verdict = Verdict.parse(verdict)
        if chosen is not Stage.SCREENING and the_verdict is Verdict.MAYBE:
            raise NeuroreviewError(
                f"record {record_id}: 'maybe' is for title/abstract screening; at "
                f"{chosen.value} decide include or exclude"
            )
        if the_verdict is Verdict.EXCLUDE and chosen is Stage.ELIGIBILITY:
            if not reason:
                raise NeuroreviewError(
                    f"record {record_id}: an exclusion at full text needs --reason, one of: "
                    + "; ".join(plan.reasons)
                )
            try:
                reason = plan.reason(reason)
            except ValueError as error:
                raise NeuroreviewError(f"record {record_id}: {error}") from None
        decision = Decision(
            stage=chosen,
            verdict=the_verdict,
            reason=reason,
            reviewer=reviewer,
            role=DecisionRole.RESOLUTION if resolve else DecisionRole.REVIEW,
        )
        updated = record.model_copy(update={"decisions": [*record.decisions, decision]})
        after = record_state(updated, plan)
        study = None
        if after.place is Place.INCLUDED and record_id not in repository.record_studies():
            study = study_from_record(updated, repository.study_ids())
        repository.add_decision(record_id, decision, study=study)
    return Decided(updated, after, study)


def _stage_to_decide(state: RecordState, stage: str | Stage | None, resolve: bool) -> Stage:
    record = state.record
    if state.place is Place.DUPLICATE:
        raise NeuroreviewError(
            f"record {record.id} is a duplicate of {record.duplicate_of}; decide on that one"
        )
    if resolve:
        if state.conflict is None:
            raise NeuroreviewError(
                f"record {record.id} has no conflict to resolve (it is {state.place.value})"
            )
        if stage is not None and Stage.parse(stage) is not state.conflict:
            raise NeuroreviewError(
                f"record {record.id}: the conflict is at {state.conflict.value}, not {stage}"
            )
        return state.conflict
    waiting = state.next_stage
    if waiting is None:
        raise NeuroreviewError(f"record {record.id} needs no more decisions: {state.place.value}")
    if stage is not None and Stage.parse(stage) is not waiting:
        chosen = Stage.parse(stage)
        if chosen is Stage.SCREENING and record.origin.other_methods:
            raise NeuroreviewError(
                f"record {record.id} comes from other methods ({record.origin.value}); PRISMA "
                "2020 sends such reports straight to retrieval, without title/abstract screening"
            )
        raise NeuroreviewError(
            f"record {record.id} waits at {waiting.value}, not {chosen.value} ({state.place.value})"
        )
    if state.conflict is not None:
        raise NeuroreviewError(
            f"record {record.id}: its reviewers disagree at {state.conflict.value}; "
            "settle it with --resolve"
        )
    return waiting


def study_from_record(record: Record, taken: Sequence[str]) -> Study:
    """The study an included record becomes: its citation filled in, the rest to extract."""
    base = _study_id(record)
    study_id, n = base, 1
    while study_id in taken:
        n += 1
        study_id = f"{base}-{n}"
    where = ", ".join(p for p in (record.source, record.location) if p)
    provenance = {
        field: f"screening record {record.id} ({where})"
        for field in ("title", "authors", "year", "journal", "doi", "pmid")
        if getattr(record, field)
    }
    return Study(
        id=study_id,
        title=record.title,
        authors=record.authors,
        year=record.year if record.year and record.year >= 1900 else None,
        journal=record.journal,
        doi=record.doi,
        pmid=record.pmid,
        record_id=record.id,
        provenance=provenance,
    )


def _study_id(record: Record) -> str:
    import re
    import unicodedata

    family = record.authors[0].split(",")[0] if record.authors else "record"
    ascii_name = unicodedata.normalize("NFKD", family).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "", ascii_name.lower()) or "record"
    return f"{slug}{record.year}" if record.year else f"{slug}-{record.id}"


# --- conflicts, counts, agreement ----------------------------------------------------------


def conflicts(db: str, stage: str | Stage | None = None) -> list[RecordState]:
    """Records whose reviewers all decided and disagree: only now are their verdicts shown."""
    wanted = Stage.parse(stage) if stage is not None else None
    with _open(db) as repository:
        states, _ = _states(repository)
    return [s for s in states if s.conflict is not None and wanted in (None, s.conflict)]


def conflict_reviews(state: RecordState) -> tuple[Decision, ...]:
    """The disagreeing reviews of a record in conflict (each reviewer's latest)."""
    return latest_reviews(state.record.decisions, state.conflict) if state.conflict else ()


@dataclass(frozen=True)
class ScreeningReport:
    counts: PrismaCounts
    agreement: list[Any]
    plan: ScreeningPlan
    states: list[RecordState]
    batches: list[ImportBatch]
    studies: dict[str, str]


def screening_report(db: str) -> ScreeningReport | None:
    """Counts and agreement of a store's screening, or None when it holds no records."""
    from neuroreview.screening.agreement import stage_agreement

    with _open(db) as repository:
        records = repository.list_records()
        if not records:
            return None
        plan = plan_of(repository)
        links = repository.record_studies()
        batches = repository.list_batches()
    states = record_states(records, plan)
    agreement = [stage_agreement(records, stage, plan.needed(stage)) for stage in DECIDED_STAGES]
    return ScreeningReport(prisma_counts(states, links), agreement, plan, states, batches, links)


def check_balanced(counts: PrismaCounts) -> None:
    problems = counts.unbalanced()
    if problems:  # a bug, never the user's input: say so loudly
        raise AssertionError("PRISMA counts do not add up: " + "; ".join(problems))


# --- files ---------------------------------------------------------------------------------

#: What `screen prisma --out DIR` writes there.
PRISMA_FILES = ("prisma.svg", "prisma.png", "prisma.json")


def prisma_documents(report: ScreeningReport) -> tuple[str, bytes, dict[str, Any]]:
    """The diagram as SVG text and PNG bytes, and the counts and agreement as JSON."""
    from neuroreview.screening.diagram import layout, to_png, to_svg

    check_balanced(report.counts)
    drawn = layout(report.counts)
    document = report.counts.to_json() | {
        "agreement": [_agreement_json(a) for a in report.agreement],
        "reviewers_per_stage": {s.value: n for s, n in report.plan.reviewers.items()},
        "exclusion_reasons": list(report.plan.reasons),
        "batches": [b.model_dump(mode="json") for b in report.batches],
    }
    return to_svg(drawn), to_png(drawn), document


def _agreement_json(agreement) -> dict[str, Any]:
    return {
        "stage": agreement.stage.value,
        "records_with_two_or_more_reviews": agreement.n_records,
        "all_agreed": agreement.agreed,
        "percent_agreement": agreement.percent_agreement,
        "fleiss_kappa": agreement.fleiss_kappa,
        "fleiss_records": agreement.fleiss_records,
        "raters_per_record": agreement.raters,
        "pairs": [
            {
                "reviewers": list(p.reviewers),
                "records": p.n_records,
                "agreed": p.agreed,
                "cohen_kappa": p.kappa,
            }
            for p in agreement.pairs
        ],
    }


def write_prisma(report: ScreeningReport, out: Path, force: bool = False) -> list[Path]:
    """prisma.svg, .png and .json into ``out``; an existing one is replaced only with ``force``
    (they are ours: nothing else in the folder is touched)."""
    import json

    from neuroreview.io.atomic import atomic_paths

    targets = [out / name for name in PRISMA_FILES]
    existing = [t for t in targets if t.exists()]
    if existing and not force:
        raise NeuroreviewError(f"{existing[0]} already exists; use --force to replace it")
    if out.exists() and not out.is_dir():
        raise NeuroreviewError(f"--out {out} exists and is not a folder")
    svg, png, document = prisma_documents(report)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_paths(targets) as (svg_path, png_path, json_path):
        svg_path.write_text(svg, encoding="utf-8")
        png_path.write_bytes(png)
        json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return targets


# --- simulation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulationRow:
    seed: int
    n_records: int
    n_relevant: int
    wss95: float
    rrf10: float
    random_wss95: float
    random_rrf10: float
    seconds: float


def simulate_file(
    path: str | Path, label: str, seeds: Sequence[int], model: str = "logistic", progress=None
) -> list[SimulationRow]:
    """Screen a labelled set in the model's order and at random, per seed (ASReview's metrics)."""
    import time

    from neuroreview.io.references import read_references
    from neuroreview.screening.simulation import simulate, simulate_random

    found = read_references(path)
    if found.labels is None:
        raise InputError(
            "carries no labels; a simulation needs a labelled set (JSON lines, each record "
            "with a 'labels' list)",
            path,
        )
    relevant = [label in labels for labels in found.labels]
    if not any(relevant):
        known = sorted({name for labels in found.labels for name in labels})
        raise InputError(f"no record carries the label {label!r}; labels: {', '.join(known)}", path)
    if all(relevant):
        raise InputError(f"every record carries the label {label!r}: nothing to rank", path)
    texts = [r.text() for r in found.records]
    rows = []
    for seed in seeds:
        start = time.perf_counter()
        run = simulate(relevant, texts, model=model, seed=seed)
        seconds = time.perf_counter() - start
        baseline = simulate_random(relevant, seed=seed)
        rows.append(
            SimulationRow(
                seed,
                len(relevant),
                sum(relevant),
                run.wss95,
                run.rrf10,
                baseline.wss95,
                baseline.rrf10,
                seconds,
            )
        )
        if progress is not None:
            progress()
    return rows


# --- the run's screening files ---------------------------------------------------------------

RECORD_COLUMNS = [
    "record_id",
    "source",
    "origin",
    "search_date",
    "batch",
    "location",
    "citation",
    "doi",
    "pmid",
    "place",
    "reason",
    "duplicate_of",
    "study_id",
]


def _cell(value: object) -> str:
    return "" if value is None else " ".join(str(value).split())


def records_table(report: ScreeningReport, path: str) -> Any:
    """Every record, where it came from and where it ended: the trace from a study back to
    the search that found it."""
    from neuroreview.model.table import Table

    files = {b.id: b.file for b in report.batches}
    rows = []
    for state in report.states:
        r = state.record
        rows.append(
            [
                _cell(v)
                for v in (
                    r.id,
                    r.source,
                    r.origin.value,
                    r.search_date,
                    files.get(r.batch or "", r.batch),
                    r.location,
                    r.citation(),
                    r.doi,
                    r.pmid,
                    state.place.value,
                    state.reason,
                    r.duplicate_of,
                    report.studies.get(r.id),
                )
            ]
        )
    return Table(path, list(RECORD_COLUMNS), rows)


def write_screening(files, db: str) -> list[str]:
    """The store's PRISMA counts, diagram and record trace into a run; nothing when the store
    holds no screening records (the corpus was loaded, not screened)."""
    from neuroreview.io import layout

    report = screening_report(db)
    if report is None:
        return []
    svg, png, document = prisma_documents(report)
    files.write_text(layout.PRISMA_SVG, svg)
    files.write_bytes(layout.PRISMA_PNG, png)
    files.write_json(layout.PRISMA, document)
    files.write_text(
        layout.SCREENING_RECORDS, records_table(report, layout.SCREENING_RECORDS).to_tsv()
    )
    return [layout.PRISMA_SVG, layout.PRISMA_PNG, layout.PRISMA, layout.SCREENING_RECORDS]
