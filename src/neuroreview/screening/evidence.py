"""How alike two search records are, and what that proves: the evidence rules of
:mod:`neuroreview.screening.dedup`, applied to one pair at a time (see its docstring)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from neuroreview.model.record import Record
from neuroreview.screening.blocking import GENERIC_TITLE
from neuroreview.screening.normalise import (
    STOPWORDS,
    family_names,
    is_notice,
    is_translated_title,
    normalise_doi,
    normalise_journal,
    normalise_name,
    normalise_pmid,
    normalise_title,
)

#: Titles at least this alike (%) do not contradict a shared DOI or PMID.
TITLE_AGREE = 60
#: ... and this alike when the other identifier differs.
TITLE_CONFLICT = 90
#: Titles this alike are the same title written differently.
TITLE_STRONG = 95
#: Titles this alike are proposed with an agreeing author and year.
TITLE_ALIKE = 85
TITLE_ALIKE_CONFERENCE = 80
#: First-author family names this alike are the same person.
AUTHOR_AGREE = 90
#: Abstract openings this alike are one abstract.
ABSTRACT_ALIKE = 90
#: Abstracts less alike than this are two papers' abstracts, even in one language.
ABSTRACT_NOT_OTHER = 60
#: A truncated title keeps at least this many words (to be merged on it).
TRUNCATED_WORDS = 8
#: A title of this many words that begins another is a reason to ask (or, with a shared
#: identifier, agrees with it).
PREFIX_WORDS = 4
#: Titles with fewer content words are too generic to merge on.
MIN_TITLE_WORDS = 4
#: Characters of an abstract's beginning compared.
ABSTRACT_START = 200
#: Characters of an abstract read (headings such as "Background:" are skipped first).
ABSTRACT_READ = 320

_CONFERENCE = re.compile(r"conference|abstract|meeting|proceeding|congress|poster", re.I)
_ABSTRACT_NUMBER = re.compile(r"^\s*[A-Z]{1,3}-?\d{1,4}[a-z]?\.\s")
_HEADINGS = frozenset(
    [
        "abstract",
        "background",
        "backgrounds",
        "introduction",
        "objective",
        "objectives",
        "purpose",
        "purposes",
        "aim",
        "aims",
        "context",
        "importance",
        "rationale",
        "summary",
        "and",
    ]
)
# A word on one side only that changes what the paper is.
_MEANINGFUL = frozenset(
    [
        "protocol",
        "protocols",
        "update",
        "updated",
        "updating",
        "preliminary",
        "pilot",
        "replication",
        "reanalysis",
        "extension",
        "extended",
        "part",
        "erratum",
        "corrigendum",
        "correction",
        "retraction",
        "reply",
        "comment",
        "commentary",
        "response",
    ]
)
_ROMAN = frozenset(["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x"])
# Prefix pairs that turn a word into its opposite (hyperactivation/hypoactivation).
_CONTRAST = (
    ("hyper", "hypo"),
    ("in", "de"),
    ("inter", "intra"),
    ("pre", "post"),
    ("over", "under"),
    ("uni", "bi"),
    ("uni", "multi"),
    ("bi", "multi"),
    ("up", "down"),
    ("inc", "dec"),
    ("", "non"),
    ("", "un"),
    ("", "in"),
    ("", "im"),
    ("", "ir"),
    ("", "dis"),
    ("", "dys"),
    ("", "anti"),
    ("", "a"),
    ("", "fe"),
    ("", "hyper"),
    ("", "hypo"),
)
# Function words of the languages search databases carry titles in (a non-English title).
_FOREIGN = frozenset(
    [
        "de",
        "la",
        "el",
        "los",
        "las",
        "del",
        "en",
        "y",
        "und",
        "der",
        "die",
        "das",
        "mit",
        "bei",
        "von",
        "zur",
        "zum",
        "im",
        "le",
        "les",
        "des",
        "et",
        "du",
        "une",
        "un",
        "di",
        "il",
        "della",
        "delle",
        "e",
        "per",
        "em",
        "para",
        "com",
        "na",
        "do",
        "da",
        "por",
        "con",
        "sur",
        "dans",
        "einer",
        "eines",
        "eine",
        "ein",
        "als",
        "bij",
        "het",
        "een",
        "van",
        "voor",
        "och",
        "av",
        "pa",
    ]
)
_ENGLISH = frozenset(["the", "of", "and", "in", "with", "for", "on", "to", "a", "an", "from", "by"])


@dataclass(slots=True)
class Entry:
    """What the rules compare of one record, computed once."""

    position: int
    id: str
    doi: str | None
    pmid: str | None
    title: str
    words: tuple[str, ...]
    sorted_title: str
    content_words: int
    translated: bool
    bracketed: bool
    notice: bool
    conference: bool
    year: int | None
    first_author: str
    first_author_words: frozenset[str]
    authors: frozenset[str]
    journal: str
    abstract_start: str
    abstract_key: str | None
    preference: tuple
    generic: bool = False  # a title shared by many records ("Editorial")


#: Kinds of evidence, strongest first: certain pairs are grouped in this order.
RANK_ID, RANK_TITLE, RANK_TRUNCATED = 0, 1, 2


@dataclass(slots=True)
class PairVerdict:
    score: float
    certain: bool
    evidence: str
    rank: int = RANK_TITLE
    short: str | None = None  # for a truncated title: the id of the record that has it


def _preference(record: Record, doi: bool, pmid: bool, conference: bool, position: int) -> tuple:
    """Sort key of the record a group keeps: smaller is better (see the module docstring)."""
    fields = (record.title, record.abstract, record.authors, record.year, record.journal)
    fields += (record.keywords, record.kind)
    filled = sum(bool(v) for v in fields) + doi + pmid
    return (not record.abstract, not doi, not pmid, conference, -filled, position)


def _is_conference(record: Record) -> bool:
    return bool(record.kind and _CONFERENCE.search(record.kind)) or bool(
        record.title and _ABSTRACT_NUMBER.match(record.title)
    )


def _looks_foreign(words: Sequence[str]) -> bool:
    foreign = sum(w in _FOREIGN for w in words)
    return foreign >= 2 and foreign > sum(w in _ENGLISH for w in words)


def prepare(record: Record, position: int) -> Entry:
    title = normalise_title(record.title)
    words = tuple(title.split())
    abstract = normalise_title(record.abstract[:ABSTRACT_READ]) if record.abstract else ""
    abstract_words = abstract.split()
    while abstract_words and abstract_words[0] in _HEADINGS:
        abstract_words.pop(0)
    authors = family_names(record.authors[:12])
    first_raw = record.authors[0] if record.authors else ""
    doi, pmid = normalise_doi(record.doi), normalise_pmid(record.pmid)
    conference = _is_conference(record)
    bracketed = is_translated_title(record.title)
    return Entry(
        position=position,
        id=record.id,
        doi=doi,
        pmid=pmid,
        title=title,
        words=words,
        sorted_title=" ".join(sorted(words)),
        content_words=sum(w not in STOPWORDS for w in words),
        translated=bracketed or _looks_foreign(words),
        bracketed=bracketed,
        notice=is_notice(title),
        conference=conference,
        year=record.year,
        first_author=authors[0] if authors else "",
        # Without a comma the order of given and family names is a guess ("Wang Qiang").
        first_author_words=(
            frozenset(normalise_name(w) for w in first_raw.split())
            if first_raw and "," not in first_raw
            else frozenset()
        ),
        authors=frozenset(authors),
        journal=normalise_journal(record.journal),
        abstract_start=" ".join(abstract_words)[:ABSTRACT_START],
        abstract_key=" ".join(abstract_words[:12]) if len(abstract_words) >= 12 else None,
        preference=_preference(record, doi is not None, pmid is not None, conference, position),
    )


# --- comparing two records -------------------------------------------------------------------


@dataclass(slots=True)
class _Title:
    score: float  # best of ratio and token-sort ratio, 0-100
    prefix: int = 0  # words of the shorter title when it begins the longer one, else 0
    prefix_score: float = 0.0
    short: str | None = None  # id of the record with the shorter title, when prefix

    @property
    def truncated(self) -> bool:
        return self.prefix >= TRUNCATED_WORDS

    @property
    def best(self) -> float:
        return max(self.score, self.prefix_score)

    def describe(self) -> str:
        if self.prefix and self.prefix_score > self.score:
            return (
                f"one title ({self.prefix} words) is the beginning of the other "
                f"({self.prefix_score:.0f}% alike)"
            )
        return f"titles {self.score:.0f}% alike"


def _compare_titles(a: Entry, b: Entry) -> _Title | None:
    if not a.title or not b.title:
        return None
    score = max(
        fuzz.ratio(a.title, b.title), fuzz.ratio(a.sorted_title, b.sorted_title, score_cutoff=50)
    )
    short, long = (a, b) if len(a.title) <= len(b.title) else (b, a)
    if (
        score < TITLE_STRONG
        and len(short.words) >= PREFIX_WORDS
        and len(short.title) < 0.9 * len(long.title)
        # cheap first look: the short title against as much of the long one
        and fuzz.ratio(short.title, long.title[: len(short.title)], score_cutoff=85)
    ):
        aligned = fuzz.partial_ratio_alignment(short.title, long.title, score_cutoff=TITLE_STRONG)
        if aligned is not None and aligned.dest_start <= 2:
            return _Title(score, len(short.words), aligned.score, short.id)
    return _Title(score)


def _numeric(word: str) -> bool:
    """A number, a numbered word (``2nd``, ``5ht2a``) or a roman numeral: must match exactly."""
    return word in _ROMAN or any(c.isdigit() for c in word)


def _variant(w: str, v: str) -> bool:
    """True when two words are one word spelled differently (behaviour/behavior, plural)."""
    if w == v:
        return True
    if _numeric(w) or _numeric(v):
        return w.lstrip("0") == v.lstrip("0")
    for p, q in _CONTRAST:
        for x, y in ((w, v), (v, w)):
            if x.startswith(p) and y.startswith(q) and x[len(p) :] == y[len(q) :]:
                return False
    shortest = min(len(w), len(v))
    if shortest < 4:
        return False
    return OSA.distance(w, v, score_cutoff=2) <= (1 if shortest < 8 else 2)


def _explained(word: str, others: list[str], other_words: Sequence[str]) -> bool:
    if any(_variant(word, o) for o in others):
        return True
    if len(word) >= 3 and any(o.startswith(word) or o.endswith(word) for o in others):
        return True  # a word cut by truncation, or part of a word written joined
    # "metaanalysis" written "meta analysis" (or the reverse)
    return any(other_words[k] + other_words[k + 1] == word for k in range(len(other_words) - 1))


def _meaning_difference(a: Entry, b: Entry, truncated: bool) -> tuple[str, bool] | None:
    """How two alike titles differ in meaning, and whether by a replaced word; None when they
    differ only in form."""
    wa, wb = list(a.words), list(b.words)
    if truncated:  # compare the short title with the same stretch of the long one
        short, long = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
        if short[-1] not in long and any(w.startswith(short[-1]) for w in long):
            del short[-1]  # the word the truncation cut
        del long[len(short) :]
    # words one title has more often than the other ("functional ... functional" is not
    # "functional ... structural"); after truncation, one anywhere in the other is no difference
    ca, cb = Counter(wa), Counter(wb)
    sa, sb = (set(a.words), set(b.words)) if truncated else (set(), set())
    only_a = [w for w in (ca - cb) if w not in STOPWORDS and w not in sb]
    only_b = [w for w in (cb - ca) if w not in STOPWORDS and w not in sa]
    rest_a = [w for w in only_a if not _explained(w, only_b, wb)]
    rest_b = [w for w in only_b if not _explained(w, only_a, wa)]
    if rest_a and rest_b:
        return f"the titles differ in {rest_a[0]!r} / {rest_b[0]!r}", True
    for w in rest_a + rest_b:
        if _numeric(w):
            return f"a number differs ({w!r} in one title only)", False
        if w in _MEANINGFUL:
            return f"{w!r} is in one title only", False
    return None


def _authors_agree(a: Entry, b: Entry) -> bool | None:
    """Same first author (None when one is unknown)."""
    if not a.first_author or not b.first_author:
        return None
    if fuzz.ratio(a.first_author, b.first_author) >= AUTHOR_AGREE:
        return True
    return a.first_author in b.first_author_words or b.first_author in a.first_author_words


def _authors_overlap(a: Entry, b: Entry) -> bool:
    shared = len(a.authors & b.authors)
    return shared >= 2 and shared >= 0.5 * min(len(a.authors), len(b.authors))


def _year_gap(a: Entry, b: Entry) -> int | None:
    if a.year is None or b.year is None:
        return None
    return abs(a.year - b.year)


def _journals_agree(a: str, b: str) -> bool:
    if not a or not b:
        return False
    if a == b or fuzz.ratio(a, b) >= 90:
        return True
    wa, wb = a.split(), b.split()
    short, long = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    # "j psychiatry neurosci" against "journal psychiatry neuroscience"
    return len(short) == len(long) and all(
        y.startswith(x) for x, y in zip(short, long, strict=True)
    )


def _context(a: Entry, b: Entry) -> tuple[bool | None, int | None, list[str]]:
    """First-author agreement, year gap and their description."""
    agree = _authors_agree(a, b)
    gap = _year_gap(a, b)
    parts = []
    if gap is None:
        parts.append("a year missing")
    elif gap == 0:
        parts.append(f"same year {a.year}")
    else:
        parts.append(f"years {min(a.year, b.year)} and {max(a.year, b.year)}")
    if agree is None:
        parts.append("a first author missing")
    elif agree:
        parts.append(f"same first author {a.first_author}")
    else:
        parts.append(f"first authors {a.first_author} and {b.first_author}")
    return agree, gap, parts


def judge(a: Entry, b: Entry) -> PairVerdict | None:
    """The evidence that two records are one report, or None when there is none worth showing."""
    title = _compare_titles(a, b)
    same_doi = a.doi is not None and a.doi == b.doi
    same_pmid = a.pmid is not None and a.pmid == b.pmid
    if same_doi or same_pmid:
        return _identifier_verdict(a, b, title, same_doi, same_pmid)
    verdict = _title_verdict(a, b, title) if title is not None else None
    return verdict or _related_verdict(a, b, title)


def _identifier_verdict(
    a: Entry, b: Entry, title: _Title | None, same_doi: bool, same_pmid: bool
) -> PairVerdict:
    shared = " and ".join(
        (["DOI " + a.doi] if same_doi else []) + (["PMID " + a.pmid] if same_pmid else [])
    )
    evidence = f"same {shared}"
    conflict = None
    if same_doi and not same_pmid and a.pmid and b.pmid:
        conflict = f"PMIDs differ ({a.pmid}, {b.pmid})"
    elif same_pmid and not same_doi and a.doi and b.doi:
        conflict = f"DOIs differ ({a.doi}, {b.doi})"
    if title is None:
        return PairVerdict(1.0, conflict is None, f"{evidence} (a title is missing)", RANK_ID)
    needed = TITLE_CONFLICT if conflict else TITLE_AGREE
    if title.best >= needed:
        note = "" if title.best >= TITLE_STRONG else f", {title.describe()}"
        note += f"; {conflict}" if conflict else ""
        return PairVerdict(1.0, True, evidence + note, RANK_ID)
    agree, gap, parts = _context(a, b)
    translation = a.translated or b.translated
    if translation and agree and gap is not None and gap <= 1 and not conflict:
        return PairVerdict(
            1.0,
            True,
            f"{evidence}; {title.describe()}, one being a translated title; " + ", ".join(parts),
            RANK_ID,
        )
    why = conflict or "a wrong identifier, or an erratum or comment sharing it?"
    return PairVerdict(
        title.best / 100,
        False,
        f"{evidence} but {title.describe()} ({why})",
        RANK_ID,
    )


def _title_verdict(a: Entry, b: Entry, title: _Title) -> PairVerdict | None:
    strong = title.score >= TITLE_STRONG or title.truncated
    either_conference = a.conference or b.conference
    threshold = TITLE_ALIKE_CONFERENCE if either_conference else TITLE_ALIKE
    if not strong and title.score < threshold and not title.prefix:
        return None
    agree, gap, parts = _context(a, b)
    compatible = gap is not None and gap <= (2 if either_conference else 1)
    blockers = []
    if a.doi and b.doi:
        blockers.append(f"different DOIs {a.doi} and {b.doi}")
    if a.pmid and b.pmid:
        blockers.append(f"different PMIDs {a.pmid} and {b.pmid}")
    if a.conference != b.conference:
        blockers.append("one is a conference abstract")
    if a.notice != b.notice:
        blockers.append("one is a correction, comment or reply")
    if min(a.content_words, b.content_words) < MIN_TITLE_WORDS:
        blockers.append("the title is too short to tell papers apart")
    elif a.generic or b.generic:
        blockers.append(f"the title is shared by more than {GENERIC_TITLE} records")
    meaning = _meaning_difference(a, b, title.prefix > 0 and title.prefix_score > title.score)
    if meaning:
        blockers.append(meaning[0])
    evidence = ", ".join([title.describe(), *parts])
    if blockers:
        evidence += "; not merged automatically: " + "; ".join(blockers)
    score = title.best / 100
    certain = strong and agree is True and gap is not None and gap <= 1 and not blockers
    truncated = title.score < TITLE_STRONG  # strong only as the beginning of the other title
    rank = RANK_TRUNCATED if truncated else RANK_TITLE
    if certain:
        return PairVerdict(score, True, evidence, rank, title.short if truncated else None)
    same_people = agree is True or _authors_overlap(a, b)
    if meaning and a.doi and b.doi and a.pmid and b.pmid:
        return None  # two identifiers each and titles that differ in meaning: two papers
    if meaning:  # two papers of one group, or a protocol or a correction of the paper
        proposed = same_people and compatible and (strong or not meaning[1])
    elif strong:
        proposed = not (agree is False and not compatible)
    else:  # alike, or a short title that begins the other
        proposed = same_people and compatible
    return PairVerdict(score, False, evidence, rank) if proposed else None


def _related_verdict(a: Entry, b: Entry, title: _Title | None) -> PairVerdict | None:
    """Titles unlike (a translation, a reworded title): the same abstract, or the same journal."""
    agree = _authors_agree(a, b)
    gap = _year_gap(a, b)
    if not agree or gap is None or gap > (2 if (a.conference or b.conference) else 1):
        return None
    _, _, parts = _context(a, b)
    titles = title.describe() if title else "a title missing"
    abstracts = None
    if len(a.abstract_start) >= 100 and len(b.abstract_start) >= 100:
        abstracts = fuzz.ratio(a.abstract_start, b.abstract_start)
        if abstracts >= ABSTRACT_ALIKE:
            return PairVerdict(
                abstracts / 100,
                False,
                f"abstracts begin alike ({abstracts:.0f}%), "
                + ", ".join(parts)
                + f"; but {titles}",
            )
    if (
        a.bracketed != b.bracketed
        and (abstracts is None or abstracts >= ABSTRACT_NOT_OTHER)
        and _journals_agree(a.journal, b.journal)
    ):
        return PairVerdict(
            0.5,
            False,
            "one title is MEDLINE's translation, " + ", ".join(parts) + f", same journal; {titles}",
        )
    return None
