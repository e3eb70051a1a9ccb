"""Which pairs of records are worth comparing: blocking, so 50,000 records take seconds.

Comparing every pair of 50,000 records is 1.25 billion comparisons; nearly all are between
papers that share nothing. A pair is compared only when it shares a *blocking key*:

- the same normalised DOI, PMID or abstract opening (exact keys);
- for titles: the first three content words (not stop words), and the second to fourth, which
  a title and its truncation share; three out of the first four *key words* (content words not
  common in this collection, in title order), sorted: four keys, so a typo or a changed word
  among the first four, or a swapped word order, still leaves one in common; and the title's
  two rarest words, which meet when a title's beginning was reworded;
- for a MEDLINE-translated title (in square brackets) or a non-English one, whose words need
  not resemble another database's copy: the first author and a year at most one apart.

Inside a title block, :func:`rapidfuzz.process.cdist` scores all pairs at once on three strings
(the title, its words sorted, its first 48 characters: the last catches truncated titles), and
only pairs reaching :data:`TITLE_CANDIDATE` on one of them, at most :data:`PER_RECORD` for a
record, go on to be judged. A block larger than :data:`LARGE_BLOCK` is compared only between
records at most :data:`YEAR_WINDOW` years apart (records without a year against all). A title
shared by more than :data:`GENERIC_TITLE` records ("Editorial", "Abstracts") is in no title
block: those records meet only records with the same title and first author. These bounds keep
the work near-linear when thousands of titles are alike.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from itertools import combinations

import numpy as np
from rapidfuzz import fuzz, process

from neuroreview.screening.normalise import STOPWORDS

__all__ = ["candidate_pairs", "generic_titles", "title_keys"]

#: Title similarity (0-100, any of the three strings) that makes a pair in a block a candidate.
TITLE_CANDIDATE = 78
#: Characters of a title's beginning compared to find truncated titles.
HEAD = 48
#: Blocks up to this size are judged pair by pair without scoring them first.
SMALL_BLOCK = 6
#: Blocks above this size are compared only between records close in time.
LARGE_BLOCK = 1500
#: Years apart compared inside a large block (conference abstracts precede articles by 1-2).
YEAR_WINDOW = 2
#: Candidates a record keeps per title block, the most alike first.
PER_RECORD = 25
#: A title shared by more records than this is generic: no evidence that two are one paper.
GENERIC_TITLE = 20
#: Exact-key groups larger than this (a DOI shared by hundreds: broken data) are chained, not
#: compared all against all.
EXACT_GROUP = 40
#: A word in more than this share of titles (and at least COMMON_MIN of them) is not a key word.
COMMON_SHARE = 0.004
COMMON_MIN = 20

Pair = tuple[int, int]


def _ordered(i: int, j: int) -> Pair:
    return (i, j) if i < j else (j, i)


def exact_pairs(keys: Sequence[str | None]) -> Iterator[Pair]:
    """Pairs of positions whose key is the same (None never matches)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for position, key in enumerate(keys):
        if key:
            groups[key].append(position)
    for members in groups.values():
        if len(members) <= EXACT_GROUP:
            yield from combinations(members, 2)
        else:  # each to its predecessor and to the first: still one connected group
            for k in range(1, len(members)):
                yield members[k - 1], members[k]
                if k > 1:
                    yield members[0], members[k]


def title_keys(words: Sequence[str], frequency: Counter[str], common: int) -> list[str]:
    """The blocking keys of one normalised title (its words), given document frequencies."""
    content = [w for w in dict.fromkeys(words) if w not in STOPWORDS and len(w) > 1]
    if not content:
        return []
    # Where the title starts, whatever the words: shared by a title and its truncation.
    keys = ["^" + " ".join(content[:3]), "^" + " ".join(content[1:4])] if len(content) > 3 else []
    key_words = [w for w in content if frequency[w] <= common]
    if len(key_words) < 4:
        key_words += [w for w in content if frequency[w] > common][: 4 - len(key_words)]
    first = key_words[:4]
    if len(first) == 4:
        keys += [" ".join(sorted(c)) for c in combinations(first, 3)]
    else:
        keys.append(" ".join(sorted(first)))
    if len(content) >= 2:
        rarest = sorted(content, key=lambda w: (frequency[w], w))[:2]
        keys.append("~" + " ".join(sorted(rarest)))
    return keys


def _block_pairs(
    members: list[int],
    titles: Sequence[str],
    sorted_titles: Sequence[str],
    years: Sequence[int | None],
) -> Iterator[Pair]:
    if len(members) <= SMALL_BLOCK:
        yield from combinations(members, 2)
        return
    if len(members) <= LARGE_BLOCK:
        yield from _scored_pairs(members, members, titles, sorted_titles, same=True)
        return
    by_year: dict[int | None, list[int]] = defaultdict(list)
    for m in members:
        by_year[years[m]].append(m)
    for year, queries in by_year.items():
        if year is None:
            choices = members
        else:
            choices = [
                m
                for y in range(year - YEAR_WINDOW, year + YEAR_WINDOW + 1)
                for m in by_year.get(y, ())
            ]
        yield from _scored_pairs(queries, choices, titles, sorted_titles, same=False)


def _scored_pairs(
    queries: list[int],
    choices: list[int],
    titles: Sequence[str],
    sorted_titles: Sequence[str],
    *,
    same: bool,
) -> Iterator[Pair]:
    """Pairs whose title, sorted words or beginning are at least TITLE_CANDIDATE alike.

    Each record keeps its PER_RECORD most alike partners in the block: a record has a few
    duplicates, not hundreds, and this bounds the work when many titles are nearly the same.
    """
    scores = None
    for strings, cutoff, head in (
        (titles, TITLE_CANDIDATE, None),
        (sorted_titles, TITLE_CANDIDATE, None),
        (titles, 90, HEAD),
    ):
        found = process.cdist(
            [strings[q][:head] for q in queries],
            [strings[c][:head] for c in choices],
            scorer=fuzz.ratio,
            score_cutoff=cutoff,
            dtype=np.uint8,
        )
        scores = found if scores is None else np.maximum(scores, found)
    if same:
        np.fill_diagonal(scores, 0)
    alike = scores > 0
    if alike.shape[1] > PER_RECORD and alike.sum(axis=1).max() > PER_RECORD:
        best = np.argpartition(scores, -PER_RECORD, axis=1)[:, -PER_RECORD:]
        kept = np.zeros_like(alike)
        np.put_along_axis(kept, best, True, axis=1)
        alike &= kept
        if same:
            alike |= alike.T
    if same:
        alike = np.triu(alike, k=1)
    for qi, ci in zip(*np.nonzero(alike), strict=True):
        q, c = queries[qi], choices[ci]
        if q != c:
            yield _ordered(q, c)


def generic_titles(titles: Sequence[str]) -> list[bool]:
    """True for a title shared by more than GENERIC_TITLE records ("Editorial", "Abstracts")."""
    count = Counter(titles)
    return [bool(t) and count[t] > GENERIC_TITLE for t in titles]


def candidate_pairs(
    *,
    dois: Sequence[str | None],
    pmids: Sequence[str | None],
    title_words: Sequence[Sequence[str]],
    titles: Sequence[str],
    sorted_titles: Sequence[str],
    years: Sequence[int | None],
    first_authors: Sequence[str],
    abstract_keys: Sequence[str | None],
    translated: Sequence[bool],
    generic: Sequence[bool],
) -> set[Pair]:
    """Pairs of positions (i < j) worth judging; all sequences are aligned by position.

    A generic title (see :func:`generic_titles`) tells nothing: its records meet only records
    with the same title and first author.
    """
    pairs: set[Pair] = set()
    same_generic = [
        f"{title}|{author}" if flag else None
        for title, author, flag in zip(titles, first_authors, generic, strict=True)
    ]
    for keys in (dois, pmids, abstract_keys, same_generic):
        pairs.update(_ordered(i, j) for i, j in exact_pairs(keys))

    frequency: Counter[str] = Counter()
    for words in title_words:
        frequency.update(set(words))
    common = max(COMMON_MIN, int(COMMON_SHARE * len(titles)))
    blocks: dict[str, list[int]] = defaultdict(list)
    for position, words in enumerate(title_words):
        if generic[position]:
            continue
        for key in title_keys(words, frequency, common):
            blocks[key].append(position)
    for members in blocks.values():
        if len(members) > 1:
            pairs.update(_block_pairs(members, titles, sorted_titles, years))

    pairs.update(_translated_pairs(first_authors, years, translated))
    return pairs


def _translated_pairs(
    first_authors: Sequence[str], years: Sequence[int | None], translated: Sequence[bool]
) -> Iterable[Pair]:
    """Each translated title against records with the same first author and a year one apart."""
    if not any(translated):
        return ()
    index: dict[tuple[str, int], list[int]] = defaultdict(list)
    for position, (author, year) in enumerate(zip(first_authors, years, strict=True)):
        if author and year is not None:
            index[author, year].append(position)
    found = set()
    for position, is_translated in enumerate(translated):
        author, year = first_authors[position], years[position]
        if not (is_translated and author and year is not None):
            continue
        for y in (year - 1, year, year + 1):
            for other in index.get((author, y), ())[: EXACT_GROUP * 5]:
                if other != position:
                    found.add(_ordered(position, other))
    return found
