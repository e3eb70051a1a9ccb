"""Duplicate records of one search: which to merge automatically, which a person must look at.

A review searches several databases; the same paper comes back from each, written differently
(see :mod:`neuroreview.screening.normalise`). :func:`find_duplicates` proposes
:class:`DuplicatePair` s; the caller records the certain ones as merges and asks a reviewer
about the others. A wrong automatic merge silently removes a paper from the review, so
``certain`` is kept for evidence that two records are one report; weaker evidence is proposed
with ``certain=False``, and evidence too weak to be worth a reviewer's minute is not proposed.

Evidence rules, in order. Titles are compared after :func:`normalise_title`; "x% alike" is the
best of rapidfuzz's ``ratio`` and ``token_sort_ratio``. A title *begins* another when it has at
least :data:`PREFIX_WORDS` words and ``partial_ratio`` finds it (≥ 95) at the other's start; it
is *truncated* when it also has at least :data:`TRUNCATED_WORDS` (8) words.

1. **Same DOI or same PMID** (normalised: ``https://doi.org/10.1/X`` is ``doi:10.1/x``,
   ``PMID: 007`` is ``7``): certain when the titles are :data:`TITLE_AGREE` (60%) alike, one
   begins the other, or one is missing. Titles that disagree more mean a DOI typo, or an erratum
   or comment sharing it: uncertain, unless one title is a translation (MEDLINE's ``[...]`` or
   another language) and first author and year agree: certain. When the other identifier is in
   both and differs (same DOI, two PMIDs), certain needs :data:`TITLE_CONFLICT` (90%).
2. **Different DOIs, or different PMIDs, both present**: never certain (a preprint and its
   article, a journal's two language editions, or two papers); uncertain at most, by rule 3.
3. **Titles, no shared identifier**. *Strongly alike*: :data:`TITLE_STRONG` (95%) or
   truncated. *Compatible years*: at most one apart (online first vs print), two when one is a
   conference abstract. *Same first author*: family names :data:`AUTHOR_AGREE` (90%) alike.

   - certain: strongly alike, same first author, years at most one apart, and none of the
     reasons below;
   - never certain, whatever the titles: rule 2; a conference abstract (``kind`` says
     conference, abstract, meeting or proceedings, or the title starts with an abstract number
     such as ``T133.``) against another kind of record; a correction, erratum, comment, reply
     or reprint against a paper; fewer than :data:`MIN_TITLE_WORDS` content words, or a title
     shared by more than 20 records (generic: "Abstracts", "Editorial"); a missing year or
     first author; and titles that *differ in meaning*: a word replaced by one that is
     not its spelling variant (``increased``/``decreased``, ``hyper``/``hypoactivation``,
     ``major``/``minor``), or on one side only a number, roman numeral or a word such as
     *protocol*, *update*, *correction*;
   - uncertain: strongly alike titles, unless first author and year both disagree; titles
     :data:`TITLE_ALIKE` (85%; :data:`TITLE_ALIKE_CONFERENCE` 80% with a conference abstract)
     alike or one beginning the other, with compatible years and the same first author (or half
     the authors in common). Titles that differ in meaning are proposed only with compatible
     years and the same people, and, for a replaced word, strongly alike titles (two papers of
     one group otherwise); not at all when both records have a DOI and a PMID, all different.
4. **Translated or reworded titles** (titles not alike): the same first author, compatible
   years, and abstracts whose first 200 characters are :data:`ABSTRACT_ALIKE` (90%) alike, or
   one MEDLINE-translated title, the same journal and abstracts not plainly different:
   uncertain.

Grouping: certain pairs are joined (union-find) in order of strength: shared identifiers, then
alike titles, then truncated titles, the most alike first. A join is refused, and the pair
proposed as uncertain, when it would put in one group two records a person declared
``distinct``, or records with different DOIs (or PMIDs) and none in common: a report has one
DOI. A record whose title matches records of two groups that cannot be joined (a truncated
title that begins two papers' titles) is not merged: which it is, is a guess. Each group keeps
one record, the first by preference: has an abstract, has a DOI, has a PMID, is not a
conference abstract, has the most filled fields, comes first in ``records``. Every other member
is one certain pair ``(member, keeper)``, with the evidence that joined it. Uncertain pairs are
lifted to the groups' kept records, one pair per two groups (the best evidence), ``kept`` the
preferred one.

Determinism: the result does not depend on the order of ``records``, except which record a
group keeps when several tie on every preference (the earliest), and so the pairs naming it.
Certain pairs come first, sorted by kept and duplicate id, then uncertain ones by descending
score and ids.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from itertools import combinations

from neuroreview.model.record import Record
from neuroreview.screening.blocking import candidate_pairs, generic_titles
from neuroreview.screening.evidence import (
    RANK_ID,
    RANK_TITLE,
    RANK_TRUNCATED,
    Entry,
    PairVerdict,
    judge,
    prepare,
)

__all__ = ["DuplicatePair", "find_duplicates"]


@dataclass(frozen=True)
class DuplicatePair:
    """``duplicate`` is the same report as ``kept``: merge it (``certain``) or ask a person.

    ``kept`` is never itself the duplicate of a certain pair; ``score`` is the similarity the
    decision rests on (1.0 for a shared identifier with agreeing titles); ``evidence`` says
    why, for the reviewer and the merge log.
    """

    duplicate: str
    kept: str
    score: float
    evidence: str
    certain: bool


# --- grouping ---------------------------------------------------------------------------------


class _Groups:
    """Union-find over positions that refuses joins the evidence forbids.

    Two groups are not joined when a person declared a member of one distinct from a member of
    the other, or when they have different DOIs (or PMIDs) and no DOI or PMID in common: a
    group is one report, and a report has one DOI.
    """

    def __init__(self, entries: list[Entry], cannot: dict[int, set[int]]):
        self.parent = list(range(len(entries)))
        self.members = {i: [i] for i in range(len(entries))}
        self.dois = {i: {e.doi} - {None} for i, e in enumerate(entries)}
        self.pmids = {i: {e.pmid} - {None} for i, e in enumerate(entries)}
        self.cannot = cannot

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def conflict(self, ri: int, rj: int) -> str | None:
        """Why groups (roots) ri and rj cannot be one report, or None."""
        small, large = sorted((ri, rj), key=lambda r: len(self.members[r]))
        large_set = set(self.members[large])
        if any(self.cannot.get(m, set()) & large_set for m in self.members[small]):
            return "joining them would join records declared distinct"
        if self.dois[ri] & self.dois[rj] or self.pmids[ri] & self.pmids[rj]:
            return None
        for name, ids in (("DOIs", self.dois), ("PMIDs", self.pmids)):
            if ids[ri] and ids[rj]:
                first, second = sorted((min(ids[ri]), min(ids[rj])))
                return f"joining them would join records with different {name} {first} and {second}"
        return None

    def join(self, i: int, j: int) -> str | None:
        """Join the groups of i and j; the reason it is refused, or None."""
        ri, rj = self.find(i), self.find(j)
        if ri == rj:
            return None
        refused = self.conflict(ri, rj)
        if refused:
            return refused
        small, large = sorted((ri, rj), key=lambda r: len(self.members[r]))
        self.parent[small] = large
        self.members[large].extend(self.members.pop(small))
        self.dois[large] |= self.dois.pop(small)
        self.pmids[large] |= self.pmids.pop(small)
        return None


def find_duplicates(
    records: Sequence[Record],
    *,
    distinct: Collection[frozenset[str]] = (),
) -> list[DuplicatePair]:
    """Certain and uncertain duplicate pairs among ``records`` (see the module docstring).

    ``distinct`` holds pairs of ids a person declared different papers: they are never
    proposed again, and no automatic merge puts them in one group. Records already marked
    ``duplicate_of`` something, and later records repeating an earlier id, are ignored.
    """
    entries: list[Entry] = []
    seen: set[str] = set()
    for position, record in enumerate(records):
        if record.duplicate_of is not None or record.id in seen:
            continue
        seen.add(record.id)
        entries.append(prepare(record, position))
    if len(entries) < 2:
        return []
    index = {e.id: k for k, e in enumerate(entries)}
    declared = {frozenset(p) for p in distinct if len(p) == 2}
    cannot: dict[int, set[int]] = {}
    for pair in declared:
        x, y = (index.get(i) for i in pair)
        if x is not None and y is not None:
            cannot.setdefault(x, set()).add(y)
            cannot.setdefault(y, set()).add(x)

    for entry, generic in zip(entries, generic_titles([e.title for e in entries]), strict=True):
        entry.generic = generic
    candidates = candidate_pairs(
        dois=[e.doi for e in entries],
        pmids=[e.pmid for e in entries],
        title_words=[e.words for e in entries],
        titles=[e.title for e in entries],
        sorted_titles=[e.sorted_title for e in entries],
        years=[e.year for e in entries],
        first_authors=[e.first_author for e in entries],
        abstract_keys=[e.abstract_key for e in entries],
        translated=[e.translated for e in entries],
        generic=[e.generic for e in entries],
    )
    verdicts: dict[tuple[int, int], PairVerdict] = {}
    for i, j in candidates:
        if j in cannot.get(i, ()):
            continue
        # judged in id order, so that the evidence reads the same whatever the input order
        first, second = (i, j) if entries[i].id < entries[j].id else (j, i)
        verdict = judge(entries[first], entries[second])
        if verdict is not None:
            verdicts[i, j] = verdict

    groups, certain_edges, uncertain = _group(entries, verdicts, cannot)
    keeper: dict[int, int] = {}
    for members in groups.members.values():
        best = min(members, key=lambda m: entries[m].preference)
        for m in members:
            keeper[m] = best

    pairs = [
        _certain_pair(entries, member, keep, certain_edges[member])
        for member, keep in keeper.items()
        if member != keep
    ]
    pairs.sort(key=lambda p: (p.kept, p.duplicate))
    pairs.extend(_uncertain_pairs(entries, keeper, uncertain, declared))
    return pairs


def _group(
    entries: list[Entry], verdicts: dict[tuple[int, int], PairVerdict], cannot: dict[int, set[int]]
) -> tuple[_Groups, dict[int, list[tuple[int, PairVerdict]]], list[tuple[int, int, PairVerdict]]]:
    """Join the certain pairs into groups; return them, their edges, and the uncertain pairs.

    Shared identifiers are joined first, then alike titles, then truncated titles; in each
    stage the most alike first. A record whose title (or, for a truncated title, the record
    that has it) matches records of two groups with different identifiers is not merged: which
    paper it is, is a guess (a truncated title that begins two papers' titles).
    """
    by_id = {e.id: k for k, e in enumerate(entries)}

    def order(item):
        (i, j), v = item
        return (v.rank, -v.score, *sorted((entries[i].id, entries[j].id)))

    def claimants(i: int, j: int, verdict: PairVerdict) -> tuple[int, ...]:
        return (by_id[verdict.short],) if verdict.short else (i, j)

    groups = _Groups(entries, cannot)
    edges: dict[int, list[tuple[int, PairVerdict]]] = {}
    uncertain: list[tuple[int, int, PairVerdict]] = []
    ranked = sorted(verdicts.items(), key=order)
    for stage in (RANK_ID, RANK_TITLE, RANK_TRUNCATED):
        current = [(pair, v) for pair, v in ranked if v.rank == stage]
        ambiguous: dict[int, str] = {}
        if stage != RANK_ID:
            reach: dict[int, dict[int, int]] = {}
            for (i, j), verdict in current:
                if verdict.certain:
                    for c in claimants(i, j, verdict):
                        other = j if c == i else i
                        reach.setdefault(c, {groups.find(c): c})[groups.find(other)] = other
            for record, roots in reach.items():
                found = sorted(roots.items(), key=lambda item: entries[item[1]].id)
                for (r1, x), (r2, y) in combinations(found, 2):
                    reason = groups.conflict(r1, r2)
                    if reason:
                        ambiguous[record] = (
                            f"the title of {entries[record].id} matches records of two papers, "
                            f"{entries[x].id} and {entries[y].id}, and {reason}"
                        )
                        break
        for (i, j), verdict in current:
            if not verdict.certain:
                uncertain.append((i, j, verdict))
                continue
            why = next(
                (ambiguous[c] for c in claimants(i, j, verdict) if c in ambiguous), None
            ) or groups.join(i, j)
            if why:
                evidence = f"{verdict.evidence}; not merged automatically: {why}"
                uncertain.append((i, j, PairVerdict(verdict.score, False, evidence, verdict.rank)))
                continue
            edges.setdefault(i, []).append((j, verdict))
            edges.setdefault(j, []).append((i, verdict))
    uncertain.sort(key=lambda t: order(((t[0], t[1]), t[2])))
    return groups, edges, uncertain


def _certain_pair(
    entries: list[Entry], member: int, keep: int, edges: list[tuple[int, PairVerdict]]
) -> DuplicatePair:
    """The member's pair with its group's kept record, with the evidence that put it there."""
    direct = [v for other, v in edges if other == keep]
    if direct:
        verdict, via = direct[0], None
    else:
        via, verdict = min(edges, key=lambda e: (-e[1].score, entries[e[0]].id))
    evidence = verdict.evidence
    if via is not None:
        evidence += f" (with record {entries[via].id}, merged into {entries[keep].id} too)"
    return DuplicatePair(entries[member].id, entries[keep].id, verdict.score, evidence, True)


def _uncertain_pairs(
    entries: list[Entry],
    keeper: dict[int, int],
    uncertain: list[tuple[int, int, PairVerdict]],
    declared: set[frozenset[str]],
) -> list[DuplicatePair]:
    """One pair per two groups, between their kept records, with the best evidence."""
    best: dict[tuple[int, int], DuplicatePair] = {}
    for i, j, verdict in uncertain:  # already in order of descending score, then ids
        ki, kj = keeper[i], keeper[j]
        if ki == kj:
            continue
        kept, duplicate = sorted((ki, kj), key=lambda k: entries[k].preference)
        key = (kept, duplicate)
        if key in best or frozenset((entries[kept].id, entries[duplicate].id)) in declared:
            continue
        evidence = verdict.evidence
        if (ki, kj) != (i, j):
            evidence += (
                f" (between records {entries[i].id} and {entries[j].id},"
                f" kept as {entries[ki].id} and {entries[kj].id})"
            )
        best[key] = DuplicatePair(
            entries[duplicate].id, entries[kept].id, verdict.score, evidence, False
        )
    return sorted(best.values(), key=lambda p: (-p.score, p.kept, p.duplicate))
