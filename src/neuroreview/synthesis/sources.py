"""Where a corpus's evidence was read: what a reader needs to know before trusting a number.

A finding read from an abstract is thinner than one read from the paper's table: abstracts
report what the authors chose to highlight, rarely effect sizes, and often no direction for
secondary results. The corpus records its sources as text (``provenance`` of each study value,
``notes`` of each analysis and finding, by the conventions of ``docs/tables.md``); this module
sorts each study by the kinds of source it rests on, so the report can say, with numbers, how
much of the corpus comes from abstracts alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from neuroreview.model import Study

#: Source kinds in the order the report names them, with the pattern that marks each in a
#: provenance value or a note.
SOURCE_PATTERNS = {
    "neurosynth": re.compile(r"neurosynth", re.IGNORECASE),
    "published meta-analysis input": re.compile(r"saberi et al\.|pyale input", re.IGNORECASE),
    # A paper's own table, read by the curator ("table page PMC..."); a PMC address alone is
    # usually the abstract page the convention names, and "the full text would settle" is a
    # lead, not a source.
    "full-text table": re.compile(r"table page|/table/", re.IGNORECASE),
    "abstract": re.compile(r"abstract|pubmed|doi\.org|springer|ovid", re.IGNORECASE),
}


@dataclass(frozen=True)
class CorpusSources:
    n_studies: int
    by_source: dict[str, tuple[str, ...]]
    abstract_only: tuple[str, ...]
    unsourced: tuple[str, ...]

    @property
    def share_abstract_only(self) -> float:
        return len(self.abstract_only) / self.n_studies if self.n_studies else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "n_studies": self.n_studies,
            "n_by_source": {k: len(v) for k, v in self.by_source.items()},
            "n_abstract_only": len(self.abstract_only),
            "share_abstract_only": round(self.share_abstract_only, 4),
            "abstract_only": list(self.abstract_only),
            "unsourced": list(self.unsourced),
        }


def _texts(study: Study) -> list[str]:
    texts = [str(v) for v in study.provenance.values()]
    texts += [a.notes for a in study.analyses if a.notes]
    texts += [f.notes for f in study.region_findings if f.notes]
    return texts


def describe_sources(studies: Sequence[Study]) -> CorpusSources:
    """Each study's source kinds; "abstract only" when abstracts are all it rests on."""
    by_source: dict[str, list[str]] = {kind: [] for kind in SOURCE_PATTERNS}
    abstract_only, unsourced = [], []
    for study in studies:
        texts = _texts(study)
        found = {k for k, pattern in SOURCE_PATTERNS.items() if any(map(pattern.search, texts))}
        for kind in found:
            by_source[kind].append(study.id)
        if not found:
            unsourced.append(study.id)
        elif found == {"abstract"}:
            abstract_only.append(study.id)
    return CorpusSources(
        n_studies=len(studies),
        by_source={k: tuple(v) for k, v in by_source.items()},
        abstract_only=tuple(abstract_only),
        unsourced=tuple(unsourced),
    )
