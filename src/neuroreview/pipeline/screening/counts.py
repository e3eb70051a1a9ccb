"""Conflicts to settle, the PRISMA 2020 counts, agreement, and the diagram's files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuroreview.errors import NeuroreviewError
from neuroreview.model import (
    Decision,
    ImportBatch,
    Stage,
)
from neuroreview.pipeline.screening.plan import open_store, parse_choice, plan_of, states_of
from neuroreview.screening.flow import (
    DECIDED_STAGES,
    RecordState,
    ScreeningPlan,
    latest_reviews,
    record_states,
)
from neuroreview.screening.prisma import PrismaCounts, prisma_counts

# --- conflicts, counts, agreement ----------------------------------------------------------


def conflicts(db: str, stage: str | Stage | None = None) -> list[RecordState]:
    """Records whose reviewers all decided and disagree: only now are their verdicts shown."""
    wanted = parse_choice(Stage, stage, "--stage") if stage is not None else None
    with open_store(db) as repository:
        states, _ = states_of(repository)
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

    with open_store(db) as repository:
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
