"""The review's questions asked separately, as a stage of a run (``questions/``).

Healthy volunteers after a single dose, and depressed patients after treatment, each split by
direction (:mod:`neuroreview.synthesis.questions`); a part with enough experiments is
meta-analysed with ALE and MKDA, every part's region votes are written beside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from neuroreview.io.layout import QUESTIONS_FOLDER, QUESTIONS_TABLE, question_votes, within
from neuroreview.pipeline.meta_analysis_stage import CBMA_METHODS, meta_analyse

if TYPE_CHECKING:
    from neuroreview.io.run_files import RunFiles
    from neuroreview.pipeline.progress import Reporter
    from neuroreview.synthesis.selection import Selection


def questions_step(
    selection: Selection,
    settings: dict[str, Any],
    minimum: int,
    origin: str,
    files: RunFiles,
    progress: Reporter,
) -> dict[str, Any]:
    """The review's questions, each split by direction: meta-analysed where enough
    experiments answer, else "too few (k)"; their region votes in ``questions/``."""
    import pandas as pd

    from neuroreview.synthesis.questions import REVIEW_QUESTIONS, ask
    from neuroreview.synthesis.votes import count_votes

    folder = QUESTIONS_FOLDER
    files.path(folder).mkdir()
    rows, answers = [], []
    for question in REVIEW_QUESTIONS:
        answer = ask(question, selection.reviewed, selection.coordinate, minimum)
        entry = answer.to_dict()
        with_coordinates = {s.id for s in selection.coordinate}
        near_misses = sorted(
            {
                f"{e['study_id']} ({e['reason']})"
                for e in answer.left_out
                if e["study_id"] in with_coordinates and not e["reason"].startswith("population")
            }
        )
        for part, part_entry in zip(answer.parts, entry["parts"], strict=True):
            part_entry["analyses"] = {}
            if part.enough:
                inputs = {"run": origin, "question": question.key, "direction": part.key}
                for method in CBMA_METHODS:
                    part_entry["analyses"][method] = meta_analyse(
                        method,
                        part.studies,
                        settings[method],
                        inputs,
                        files,
                        folder,
                        f"{part.key}/{method}",
                        progress,
                    )
            rows.append(
                {
                    "question": question.key,
                    "title": question.title,
                    "direction": part.direction.value,
                    "k": part.k,
                    "minimum": part.minimum,
                    "status": part.status,
                    "experiments": ";".join(part.experiments),
                    "studies": ";".join(s.id for s in part.studies),
                    "coordinate_studies_left_out": ";".join(near_misses),
                    **{
                        f"{m}_clusters": part_entry["analyses"].get(m, {}).get("n_clusters", "")
                        for m in CBMA_METHODS
                    },
                }
            )
        voters = [s for s in selection.reviewed if question.why_not(s) is None]
        votes = count_votes(voters).table if voters else None
        if votes is not None:
            files.write_text(
                within(folder, question_votes(question.key)), votes.to_csv(sep="\t", index=False)
            )
        entry["votes_file"] = question_votes(question.key) if votes is not None else None
        answers.append(entry)
    table = pd.DataFrame(rows).to_csv(sep="\t", index=False)
    files.write_text(within(folder, QUESTIONS_TABLE), table)
    return {"folder": QUESTIONS_FOLDER, "minimum": minimum, "questions": answers}
