"""What one reviewer may see of the others' verdicts: dual review is blind until it is complete.

Independent dual screening (PRISMA 2020 item 8; Cochrane Handbook 4.6.4) is only independent if
no reviewer sees a colleague's verdict before giving their own. So another reviewer's review at
a stage is shown only once every reviewer that stage needs has decided the record there; until
then a reviewer sees their own verdicts, the removals at identification and resolutions (which
settle a record, and come only after all reviews are in). Another reviewer's withdrawal (undo)
is hidden exactly as their review would be: showing it would tell that they had decided. This
rule is the one place the web app and the CLI take it from.
"""

from __future__ import annotations

from neuroreview.model import Decision, DecisionRole, Stage
from neuroreview.screening.flow import ScreeningPlan, latest_reviews


def stage_complete(
    decisions: tuple[Decision, ...] | list[Decision], stage: Stage, needed: int
) -> bool:
    """Whether ``needed`` different reviewers have reviewed the record at ``stage`` (reviews
    still in force: a withdrawn review makes the stage incomplete again)."""
    return len(latest_reviews(decisions, stage)) >= needed


def visible_decisions(
    decisions: tuple[Decision, ...] | list[Decision], plan: ScreeningPlan, viewer: str
) -> list[Decision]:
    """The decisions ``viewer`` may see, in the order they were made."""
    complete: dict[Stage, bool] = {}
    shown = []
    for decision in decisions:
        if decision.reviewer == viewer or decision.role is DecisionRole.RESOLUTION:
            shown.append(decision)
            continue
        if decision.stage is Stage.IDENTIFICATION:
            shown.append(decision)
            continue
        stage = decision.stage
        if stage not in complete:
            complete[stage] = stage_complete(decisions, stage, plan.needed(stage))
        if complete[stage]:
            shown.append(decision)
    return shown


def hidden_count(
    decisions: tuple[Decision, ...] | list[Decision], plan: ScreeningPlan, viewer: str
) -> int:
    """How many decisions ``viewer`` may not see yet (shown as a count, never as verdicts)."""
    return len(decisions) - len(visible_decisions(decisions, plan, viewer))
