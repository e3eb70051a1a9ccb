"""Human labels for the Neurosynth LDA50 topics.

A topic id such as ``26_emotional_amygdala_negative`` is its three top words, which is neither a
name a reader recognises nor a warning that a topic is about methods rather than function. The
labels were written by hand from each topic's top words (the LDA50 keys) and ship as data,
``neuroreview/data/neurosynth/topic_labels.tsv``, so a reviewer can reword one without touching
code. ``kind`` sorts topics into function, anatomy, clinical, population and method; ``method``
marks topics made of methodological or generic reporting words ("task", "magnetic resonance"),
which say little about what a region does however high they rank.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from importlib import resources

__all__ = ["KINDS", "TopicLabel", "load_topic_labels", "topic_label"]

_RESOURCE = ("data", "neurosynth", "topic_labels.tsv")
_COLUMNS = ("topic", "label", "kind", "top_words")
KINDS = ("function", "anatomy", "clinical", "population", "method")


@dataclass(frozen=True)
class TopicLabel:
    """One topic: its LDA50 id, the human label, its kind and its ten top words."""

    topic: str
    label: str
    kind: str
    top_words: tuple[str, ...]

    @property
    def methodological(self) -> bool:
        """Mainly methods or generic reporting words, not a mental function or a disorder."""
        return self.kind == "method"


def parse_topic_labels(text: str) -> dict[str, TopicLabel]:
    """Labels by topic id from the TSV text; refuses missing columns, blanks and repeats."""
    reader = csv.DictReader(io.StringIO(text), delimiter="\t")
    missing = [c for c in _COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise ValueError(f"topic_labels.tsv lacks columns {missing}")
    labels: dict[str, TopicLabel] = {}
    for line, row in enumerate(reader, start=2):
        topic, label, kind = (row[c].strip() for c in ("topic", "label", "kind"))
        if not topic or not label:
            raise ValueError(f"topic_labels.tsv:{line}: topic and label must not be empty")
        if kind not in KINDS:
            raise ValueError(f"topic_labels.tsv:{line}: kind {kind!r} is not one of {KINDS}")
        if topic in labels:
            raise ValueError(f"topic_labels.tsv:{line}: topic {topic!r} appears twice")
        labels[topic] = TopicLabel(topic, label, kind, tuple(row["top_words"].split()))
    return labels


@functools.cache
def load_topic_labels() -> dict[str, TopicLabel]:
    """The shipped labels, read once (through importlib.resources, so zipped installs work)."""
    text = resources.files("neuroreview").joinpath(*_RESOURCE).read_text(encoding="utf-8")
    return parse_topic_labels(text)


def topic_label(topic: str) -> TopicLabel:
    """The label of ``topic``; a topic without one is labelled by its own id, never dropped."""
    found = load_topic_labels().get(topic)
    return found if found is not None else TopicLabel(topic, topic, "function", ())
