"""A deduplication test set with known answers, built from 895 real meta-analysis papers.

The shared file ``../shared/data/screening/neuro_meta_analyses.jsonl`` (899 papers; the 4 whose
fields are shifted, with a year such as ``"d re"``, are left out) gives each paper one
PubMed-like record. A seeded generator then adds what a multi-database search returns:

- **database copies** (Embase, Web of Science, Scopus): the title with changed case or
  punctuation, Unicode variants (en dash, non-breaking space, curly quotes, an accented letter),
  HTML markup, a typo, or truncated after 8 or more words; authors as ``Smith, J.`` or
  ``Smith JA``, sometimes unaccented; the DOI missing or written differently (URL, ``DOI:``,
  upper case); the PMID missing or written ``PMID: 0123``; the year one later (print vs online);
- **conference abstracts** of a paper: kind ``Conference Abstract``, a year earlier, no DOI or
  PMID, the abstract cut to two sentences, the title sometimes without its subtitle or reworded;
- **translated titles**: the PubMed record's title in MEDLINE's ``[brackets]`` and a copy with a
  pseudo-translated "original-language" title, sharing the DOI or PMID or, for some, neither;
- **hard negatives**, which are *not* duplicates: papers whose title differs from a real one by
  a key word (``increased``/``decreased``, the disorder, ``adults``/``children``...), half of
  them by the same first author in the same year, some with database copies of their own; and
  pairs of real papers given the same first author and year.

The real file already holds duplicates, kept as true groups: one article indexed three times
(same DOI, three PMIDs), a Spanish journal's article and its English edition two years later, a
conference abstract (``T133. ...``) and its article, and an article and its reprint. Its
corrections and comments of other papers in the file are not duplicates.

Each duplicate is *auto* (the same report: expected to be merged automatically) or *review*
(a conference abstract, a reprint, another edition, or a translated copy sharing no
identifier: by design a person decides). ``auto_pairs`` are the within-group pairs of auto
records; ``true_pairs`` all within-group pairs.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from dataclasses import dataclass, field, replace
from itertools import combinations
from pathlib import Path

from neuroreview.model.record import Record

SHARED_PAPERS = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "screening"
    / "neuro_meta_analyses.jsonl"
)

#: Duplicates already in the real file: groups of DOIs, and whether each is one report (auto).
REAL_GROUPS = (
    (("10.1503/jpn.160219",), True),  # one article, three PubMed records
    (("10.1016/j.rpsm.2020.08.001", "10.1016/j.rpsmen.2022.06.004"), False),  # English edition
    (("10.1093/schbul/sbaa029.693", "10.1016/j.neubiorev.2021.03.010"), False),  # abstract
    (("10.1016/j.neuropsychologia.2010.07.030", "10.1016/j.neuropsychologia.2011.02.031"), False),
)

_CONFERENCE_NUMBER = re.compile(r"^[A-Z]{1,3}\d{1,4}\.\s")


@dataclass(frozen=True)
class Paper:
    """One real paper as the shared file gives it (authors as ``Family, Given``)."""

    title: str
    abstract: str
    authors: tuple[str, ...]
    year: int
    journal: str
    doi: str | None
    pmid: str | None
    kind: str = "Journal Article"


@dataclass
class DedupCases:
    """Records (ids unique, in shuffled order) and the truth about them."""

    records: list[Record]
    #: record id -> the paper (truth group) it reports
    paper_of: dict[str, int]
    #: ids of records whose link to their group a person must decide (conference, reprint...)
    review: set[str]
    #: how many of each kind of variant and negative were made
    composition: dict[str, int] = field(default_factory=dict)

    def groups(self) -> list[frozenset[str]]:
        """True duplicate groups (two or more records)."""
        by_paper: dict[int, set[str]] = {}
        for record_id, paper in self.paper_of.items():
            by_paper.setdefault(paper, set()).add(record_id)
        return [frozenset(g) for g in by_paper.values() if len(g) > 1]

    def true_pairs(self) -> set[frozenset[str]]:
        return {frozenset(p) for g in self.groups() for p in combinations(sorted(g), 2)}

    def auto_pairs(self) -> set[frozenset[str]]:
        return {p for p in self.true_pairs() if not p & self.review}


def load_papers(path: Path = SHARED_PAPERS) -> list[Paper]:
    """The papers of the shared file, without the 4 whose fields are shifted."""
    papers = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        year = str(row.get("year") or "")
        if not re.fullmatch(r"\d{4}", year) or "TITLE " in (row.get("authors") or ""):
            continue
        title = row["title"].strip()
        papers.append(
            Paper(
                title=title,
                abstract=(row.get("abstract") or "").strip(),
                authors=tuple(a.strip() for a in (row.get("authors") or "").split(" and ") if a),
                year=int(year),
                journal=row.get("journal") or "",
                doi=row.get("doi") or None,
                pmid=str(row["pmid"]) if row.get("pmid") else None,
                kind="Conference Abstract"
                if _CONFERENCE_NUMBER.match(title)
                else "Journal Article",
            )
        )
    return papers


# --- how databases write the same thing ---------------------------------------------------------


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _words_positions(title: str, min_length: int = 5) -> list[tuple[int, int]]:
    spans = [(m.start(), m.end()) for m in re.finditer(r"[A-Za-z]+", title)]
    return [s for s in spans if s[1] - s[0] >= min_length]


def _case(title: str, rng: random.Random) -> str:
    choice = rng.randrange(3)
    if choice == 0:
        return title.upper()
    if choice == 1:
        return title.lower()
    return " ".join(w[:1].upper() + w[1:] for w in title.split(" "))


def _punctuation(title: str, rng: random.Random) -> str:
    choice = rng.randrange(5)
    if choice == 0:
        return title.replace(": ", " - ")
    if choice == 1:
        return title.rstrip(".") + "." if not title.endswith(".") else title.rstrip(".")
    if choice == 2:
        return title.replace("-", " ")
    if choice == 3:
        return title.replace(",", "").replace(": ", ". ")
    return title.replace("meta-analysis", "metaanalysis").replace("Meta-Analysis", "Metaanalysis")


def _unicode(title: str, rng: random.Random) -> str:
    choice = rng.randrange(5)
    if choice == 0:
        return title.replace("-", rng.choice(("\u2010", "\u2013", "\u2011")))
    if choice == 1:
        spaces = [m.start() for m in re.finditer(" ", title)]
        for position in rng.sample(spaces, min(3, len(spaces))):
            title = title[:position] + "\u00a0" + title[position + 1 :]
        return title
    if choice == 2:
        words = _words_positions(title)
        if words:
            start, end = rng.choice(words)
            title = f"{title[:start]}\u201c{title[start:end]}\u201d{title[end:]}"
        return title.replace("'", "\u2019")
    if choice == 3:
        words = _words_positions(title)
        if words:
            start, end = rng.choice(words)
            word = title[start:end]
            vowels = [k for k, c in enumerate(word) if c in "aeiou"]
            if vowels:
                k = rng.choice(vowels)
                accented = {"a": "á", "e": "é", "i": "í", "o": "ö", "u": "ü"}[word[k]]
                title = title[: start + k] + accented + title[start + k + 1 :]
        return title
    return _strip_accents(title).replace("\u2019", "'").replace("\u2010", "-")


def _html(title: str, rng: random.Random) -> str:
    words = _words_positions(title, 3)
    if not words:
        return title
    start, end = rng.choice(words)
    tag = rng.choice(("i", "sup", "em"))
    return f"{title[:start]}<{tag}>{title[start:end]}</{tag}>{title[end:]}".replace(
        " and ", rng.choice((" and ", " &amp; "))
    )


def _typo(title: str, rng: random.Random) -> str:
    words = _words_positions(title, 6)
    if not words:
        return title
    start, end = rng.choice(words)
    k = rng.randrange(start + 1, end - 2)
    return title[:k] + title[k + 1] + title[k] + title[k + 2 :]


def _truncate(title: str, rng: random.Random) -> str:
    words = title.split()
    keep = rng.randrange(8, len(words) - 1)
    cut = " ".join(words[:keep])
    if rng.random() < 0.3:  # cut inside a word, as a fixed-width field does
        cut += " " + words[keep][: max(1, len(words[keep]) // 2)]
    return cut


_TITLE_CHANGES = (_case, _punctuation, _unicode, _html, _typo)


def _initials(given: str, dots: bool) -> str:
    parts = [p for p in re.split(r"[\s.-]+", given) if p]
    return "".join(p[0].upper() + ("." if dots else "") for p in parts)


def _author_form(authors: tuple[str, ...], form: int) -> list[str]:
    out = []
    for author in authors:
        family, _, given = author.partition(",")
        family, given = family.strip(), given.strip()
        if form == 0:
            out.append(f"{family}, {_initials(given, True)}" if given else family)
        elif form == 1:
            out.append(f"{family} {_initials(given, False)}".strip())
        elif form == 2:
            out.append(_strip_accents(author))
        elif form == 3:
            out.append(f"{family.upper()}, {given}" if given else family.upper())
        else:
            out.append(author)
    return out


def _doi_form(doi: str, rng: random.Random) -> str:
    return rng.choice(
        (
            f"https://doi.org/{doi}",
            f"http://dx.doi.org/{doi}",
            f"DOI: {doi}",
            doi.upper(),
            f"doi:{doi}",
            f"{doi}.",
            doi,
        )
    )


def _pmid_form(pmid: str, rng: random.Random) -> str:
    return rng.choice((pmid, f"PMID: {pmid}", f"00{pmid}", f"{pmid} [pmid]", f"{pmid}.0"))


# Word-for-word "translations": enough to make a title look like the original-language one.
_SPANISH = {
    "a": "un",
    "an": "un",
    "of": "de",
    "the": "el",
    "in": "en",
    "and": "y",
    "with": "con",
    "for": "para",
    "on": "sobre",
    "from": "de",
    "to": "a",
    "during": "durante",
    "between": "entre",
    "brain": "cerebral",
    "functional": "funcional",
    "structural": "estructural",
    "study": "estudio",
    "studies": "estudios",
    "systematic": "sistemática",
    "review": "revisión",
    "patients": "pacientes",
    "disorder": "trastorno",
    "disorders": "trastornos",
    "disease": "enfermedad",
    "neural": "neuronal",
    "imaging": "imagen",
    "magnetic": "magnética",
    "resonance": "resonancia",
    "activation": "activación",
    "alterations": "alteraciones",
    "abnormalities": "anomalías",
    "connectivity": "conectividad",
    "network": "red",
    "networks": "redes",
    "depression": "depresión",
    "schizophrenia": "esquizofrenia",
    "children": "niños",
    "adults": "adultos",
    "evidence": "evidencia",
    "analysis": "análisis",
    "meta-analysis": "metaanálisis",
    "neuroimaging": "neuroimagen",
    "cognitive": "cognitiva",
    "processing": "procesamiento",
    "memory": "memoria",
    "emotional": "emocional",
    "emotion": "emoción",
    "pain": "dolor",
    "changes": "cambios",
    "activity": "actividad",
    "correlates": "correlatos",
    "reward": "recompensa",
    "state": "estado",
    "resting": "reposo",
    "resting-state": "en reposo",
    "task": "tarea",
    "effects": "efectos",
    "healthy": "sanos",
    "human": "humano",
    "major": "mayor",
    "likelihood": "verosimilitud",
    "estimation": "estimación",
    "based": "basado",
    "coordinate-based": "basado en coordenadas",
}
_GERMAN = {
    "a": "eine", "an": "eine", "of": "der", "the": "die", "in": "bei", "and": "und",
    "with": "mit", "for": "für", "on": "zur", "from": "aus", "to": "zu", "during": "während",
    "between": "zwischen", "brain": "Gehirn", "functional": "funktionelle",
    "structural": "strukturelle", "study": "Studie", "studies": "Studien",
    "systematic": "systematische", "review": "Übersicht", "patients": "Patienten",
    "disorder": "Störung", "disorders": "Störungen", "disease": "Erkrankung",
    "neural": "neuronale", "imaging": "Bildgebung", "magnetic": "Magnet",
    "resonance": "Resonanz", "activation": "Aktivierung", "alterations": "Veränderungen",
    "abnormalities": "Auffälligkeiten", "connectivity": "Konnektivität", "network": "Netzwerk",
    "networks": "Netzwerke", "depression": "Depression", "schizophrenia": "Schizophrenie",
    "children": "Kindern", "adults": "Erwachsenen", "evidence": "Evidenz",
    "analysis": "Analyse", "meta-analysis": "Metaanalyse", "neuroimaging": "Neurobildgebung",
    "cognitive": "kognitive", "processing": "Verarbeitung", "memory": "Gedächtnis",
    "emotional": "emotionale", "pain": "Schmerz", "changes": "Veränderungen",
    "activity": "Aktivität", "correlates": "Korrelate", "reward": "Belohnung",
    "resting-state": "Ruhezustand", "task": "Aufgabe", "effects": "Effekte",
}  # fmt: skip


def _translate(title: str, rng: random.Random) -> str:
    table = rng.choice((_SPANISH, _GERMAN))
    out = []
    for word in title.rstrip(".").split():
        core = word.strip(":,;?").lower()
        tail = word[len(word.rstrip(":,;?")) :]
        out.append(table.get(core, word.strip(":,;?")) + tail)
    text = " ".join(out)
    return text[:1].upper() + text[1:]


# Key-word swaps that make a different paper with a nearly identical title.
_SWAPS = (
    ("increased", "decreased"),
    ("decreased", "increased"),
    ("hyperactivation", "hypoactivation"),
    ("hypoactivation", "hyperactivation"),
    ("schizophrenia", "bipolar disorder"),
    ("bipolar disorder", "schizophrenia"),
    ("major depressive disorder", "bipolar disorder"),
    ("depression", "anxiety"),
    ("anxiety", "depression"),
    ("adults", "children"),
    ("children", "adolescents"),
    ("adolescents", "adults"),
    ("structural", "functional"),
    ("functional", "structural"),
    ("grey matter", "white matter"),
    ("gray matter", "white matter"),
    ("white matter", "grey matter"),
    ("resting-state", "task-based"),
    ("autism", "ADHD"),
    ("Parkinson's disease", "Alzheimer's disease"),
    ("Alzheimer's disease", "Parkinson's disease"),
    ("first-episode", "chronic"),
    ("chronic", "acute"),
    ("reward", "punishment"),
    ("working memory", "episodic memory"),
    ("healthy", "clinical"),
    ("positive", "negative"),
    ("negative", "positive"),
    ("pain", "itch"),
    ("men", "women"),
    ("women", "men"),
    ("fMRI", "PET"),
    ("PET", "fMRI"),
)


def swap_key_word(title: str, rng: random.Random) -> str | None:
    """The title with one key word changed (a different paper), or None when none is present."""
    found = [
        (old, new)
        for old, new in _SWAPS
        if re.search(rf"\b{re.escape(old)}\b", title, re.I)
        and not re.search(rf"\b{re.escape(new)}\b", title, re.I)
    ]
    if not found:
        return None
    old, new = rng.choice(found)

    def keep_case(match: re.Match[str]) -> str:
        text = match.group(0)
        return new[:1].upper() + new[1:] if text[:1].isupper() else new

    return re.sub(rf"\b{re.escape(old)}\b", keep_case, title, count=1, flags=re.I)


def _unused_pmid(near: str, used: set[str], rng: random.Random) -> str:
    while True:
        pmid = str(int(near) + rng.randint(1, 5000))
        if pmid not in used:
            used.add(pmid)
            return pmid


# --- building the set -------------------------------------------------------------------------


@dataclass
class _Draft:
    paper: int
    review: bool
    fields: dict


def _base(paper: Paper) -> dict:
    return {
        "source": "PubMed",
        "kind": paper.kind,
        "title": paper.title,
        "abstract": paper.abstract or None,
        "authors": list(paper.authors),
        "year": paper.year,
        "journal": paper.journal or None,
        "doi": paper.doi,
        "pmid": paper.pmid,
    }


def _database_copy(paper: Paper, rng: random.Random, counts: dict[str, int]) -> dict:
    """Another database's record of the same paper."""
    fields = _base(paper)
    fields["source"] = rng.choice(("Embase", "Web of Science", "Scopus", "PsycINFO"))
    fields["kind"] = rng.choice(("Article", "Journal Article", "Review", "Article"))
    title = paper.title
    for change in rng.sample(_TITLE_CHANGES, rng.randint(1, 3)):
        title = change(title, rng)
        counts[f"title {change.__name__.strip('_')}"] += 1
    if len(paper.title.split()) >= 11 and rng.random() < 0.2:
        title = _truncate(title, rng)
        counts["title truncated"] += 1
    fields["title"] = title
    form = rng.randrange(5)
    fields["authors"] = _author_form(paper.authors, form)
    counts[f"authors form {form}"] += 1
    if paper.doi and rng.random() < 0.25:
        fields["doi"] = None
        counts["DOI missing"] += 1
    elif paper.doi:
        fields["doi"] = _doi_form(paper.doi, rng)
        counts["DOI written differently"] += fields["doi"] != paper.doi
    if paper.pmid and rng.random() < 0.5:
        fields["pmid"] = None
        counts["PMID missing"] += 1
    elif paper.pmid:
        fields["pmid"] = _pmid_form(paper.pmid, rng)
        counts["PMID written differently"] += fields["pmid"] != paper.pmid
    if rng.random() < 0.2:
        fields["year"] = paper.year + 1
        counts["year one later"] += 1
    if rng.random() < 0.15:
        fields["abstract"] = None
        counts["abstract missing"] += 1
    if not (fields["doi"] or fields["pmid"]):
        counts["copy without identifiers"] += 1
    return fields


def _conference_version(paper: Paper, rng: random.Random, counts: dict[str, int]) -> dict:
    """The paper's conference abstract: a year earlier, no identifiers, a shorter abstract."""
    fields = _base(paper)
    fields.update(
        source="Embase",
        kind="Conference Abstract",
        doi=None,
        pmid=None,
        year=paper.year - 1,
        authors=_author_form(paper.authors, rng.randrange(3)),
        journal=rng.choice(
            (
                paper.journal,
                "Biological Psychiatry",
                "Neuropsychopharmacology",
                "European Neuropsychopharmacology",
                "Schizophrenia Bulletin",
            )
        ),
    )
    sentences = re.split(r"(?<=[.!?])\s+", paper.abstract)
    fields["abstract"] = " ".join(sentences[:2]) or None
    title = _case(paper.title, rng) if rng.random() < 0.3 else paper.title
    head, colon, _ = paper.title.partition(": ")
    choice = rng.random()
    if colon and len(head.split()) >= 6 and choice < 0.3:
        title = head
        counts["conference title without subtitle"] += 1
    elif choice < 0.5:
        reworded = re.sub(r"meta-analysis", "meta-analytic study", title, count=1, flags=re.I)
        title = reworded
        counts["conference title reworded"] += reworded != paper.title
    fields["title"] = title
    return fields


def build_cases(
    papers: list[Paper],
    *,
    seed: int = 20240611,
    copy_share: float = 0.45,
    second_copy_share: float = 0.15,
    conference_share: float = 0.08,
    translated_share: float = 0.04,
    similar_negatives: int = 60,
    same_author_negatives: int = 40,
    real_groups: bool = True,
) -> DedupCases:
    """Records with known duplicate groups (see the module docstring); seeded, reproducible."""
    rng = random.Random(seed)

    class _Counter(dict):
        def __missing__(self, key):
            return 0

    counts = _Counter()
    papers = list(papers)
    drafts: list[_Draft] = []
    paper_index = list(range(len(papers)))

    # Real duplicates in the file: their papers form one group.
    group_of = {k: k for k in paper_index}
    review_papers: set[int] = set()
    protected: set[int] = set()
    if real_groups:
        by_doi: dict[str, list[int]] = {}
        for k, paper in enumerate(papers):
            if paper.doi:
                by_doi.setdefault(paper.doi.lower(), []).append(k)
        for dois, auto in REAL_GROUPS:
            members = [k for d in dois for k in by_doi.get(d, ())]
            if len(members) < 2:
                continue
            counts["real duplicate groups in the file"] += 1
            for k in members:
                group_of[k] = members[0]
                protected.add(k)
                if not auto and k != members[0]:
                    review_papers.add(k)

    # Same first author and year for pairs of different real papers.
    candidates = [k for k in paper_index if k not in protected and papers[k].authors]
    rng.shuffle(candidates)
    for a, b in zip(
        candidates[:same_author_negatives],
        candidates[same_author_negatives : 2 * same_author_negatives],
        strict=False,
    ):
        first = papers[a].authors[0]
        changed = replace(
            papers[b],
            authors=(first, *papers[b].authors[1:]),
            year=papers[a].year,
            journal=papers[a].journal if rng.random() < 0.4 else papers[b].journal,
        )
        papers[b] = changed
        protected.update((a, b))
        counts["same first author and year, different papers"] += 1

    # Different papers with nearly the same title.
    used_pmids = {p.pmid for p in papers if p.pmid}
    negatives = []
    for k in rng.sample(paper_index, len(paper_index)):
        if len(negatives) >= similar_negatives:
            break
        paper = papers[k]
        title = swap_key_word(paper.title, rng)
        if title is None or paper.kind != "Journal Article":
            continue
        same_group = rng.random() < 0.5
        other = papers[rng.randrange(len(papers))]
        negative = Paper(
            title=title,
            abstract=papers[rng.randrange(len(papers))].abstract,
            authors=(paper.authors[:1] + other.authors[1:]) if same_group else other.authors,
            year=paper.year if same_group else paper.year + rng.choice((-2, -1, 1, 2, 3)),
            journal=paper.journal if rng.random() < 0.5 else other.journal,
            doi=f"{paper.doi}.{rng.randint(2, 9)}" if paper.doi else None,
            pmid=_unused_pmid(paper.pmid, used_pmids, rng) if paper.pmid else None,
        )
        negatives.append(negative)
        counts["similar title, different paper"] += 1
        counts["similar title, same first author and year"] += same_group
    first_negative = len(papers)
    papers.extend(negatives)
    for k in range(first_negative, len(papers)):
        group_of[k] = k

    # Every paper's PubMed record, and the other databases' versions of some.
    for k, paper in enumerate(papers):
        base = _base(paper)
        variant = k not in protected and paper.kind == "Journal Article"
        translated = variant and k < first_negative and rng.random() < translated_share
        if translated and len(paper.title.split()) >= 6:
            base["title"] = f"[{paper.title.rstrip('.')}]."
            copy = _database_copy(paper, rng, counts)
            copy["title"] = _translate(paper.title, rng)
            copy["doi"] = copy["doi"] if rng.random() < 0.6 else None
            copy["pmid"] = copy["pmid"] if rng.random() < 0.5 else None
            no_ids = not (copy["doi"] or copy["pmid"])
            drafts.append(_Draft(group_of[k], no_ids, copy))
            counts["translated title pairs"] += 1
            counts["translated title pairs sharing no identifier"] += no_ids
        drafts.append(_Draft(group_of[k], k in review_papers, base))
        if not variant:
            continue
        share = copy_share if k < first_negative else 0.4
        if rng.random() < share:
            drafts.append(_Draft(group_of[k], False, _database_copy(paper, rng, counts)))
            counts["database copies"] += 1
            if rng.random() < second_copy_share / copy_share:
                drafts.append(_Draft(group_of[k], False, _database_copy(paper, rng, counts)))
                counts["database copies"] += 1
        if k < first_negative and rng.random() < conference_share and paper.abstract:
            drafts.append(_Draft(group_of[k], True, _conference_version(paper, rng, counts)))
            counts["conference abstracts"] += 1

    rng.shuffle(drafts)
    records, paper_of, review = [], {}, set()
    for n, draft in enumerate(drafts):
        record_id = f"rec{n:05d}"
        records.append(Record(id=record_id, **draft.fields))
        paper_of[record_id] = draft.paper
        if draft.review:
            review.add(record_id)
    counts["papers"] = len(papers)
    counts["records"] = len(records)
    cases = DedupCases(records, paper_of, review, dict(counts))
    cases.composition["true groups"] = len(cases.groups())
    cases.composition["true pairs"] = len(cases.true_pairs())
    cases.composition["auto pairs"] = len(cases.auto_pairs())
    return cases


def neurosynth_papers(metadata: Path) -> list[Paper]:
    """The 14,371 studies of Neurosynth's metadata file as papers (no abstracts)."""
    import csv
    import gzip

    papers = []
    with gzip.open(metadata, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            authors = []
            for author in row["authors"].split(", "):
                family, _, initials = author.rpartition(" ")
                if family and initials.isupper():
                    authors.append(f"{family}, {' '.join(initials)}")
                elif author:
                    authors.append(author)
            papers.append(
                Paper(
                    title=row["title"],
                    abstract="",
                    authors=tuple(authors),
                    year=int(row["year"]),
                    journal=row["journal"],
                    doi=row["doi"] or None,
                    pmid=row["id"],
                )
            )
    return papers


def distinct_papers(papers: list[Paper]) -> list[Paper]:
    """The papers without repeats of a DOI, PMID or lower-case title (first kept)."""
    seen: set[str] = set()
    out = []
    for paper in papers:
        keys = {f"t:{paper.title.lower().rstrip('.')}"}
        keys |= {f"d:{paper.doi.lower()}"} if paper.doi else set()
        keys |= {f"p:{paper.pmid}"} if paper.pmid else set()
        if keys & seen:
            continue
        seen |= keys
        out.append(paper)
    return out


def synthetic_papers(papers: list[Paper], n: int, *, seed: int = 7) -> list[Paper]:
    """``n`` new, different papers made from real ones, for scale (benchmarks).

    Each takes a real title and replaces 35-60% of its content words with words drawn from all
    titles (by frequency), and gets random authors from all papers, a random year (1995-2024),
    journal, a made-up DOI (85%) and PMID (75%), and a real abstract with its sentences
    shuffled. Titles are unique after lower-casing.
    """
    rng = random.Random(seed)
    vocabulary: list[str] = []
    for paper in papers:
        vocabulary += [w for w in re.findall(r"[A-Za-z][a-z]{3,}", paper.title)]
    families = [a for paper in papers for a in paper.authors]
    journals = [paper.journal for paper in papers if paper.journal]
    abstracts = [paper.abstract for paper in papers if paper.abstract]
    seen = {paper.title.lower() for paper in papers}
    out: list[Paper] = []
    while len(out) < n:
        base = papers[rng.randrange(len(papers))]
        tokens = base.title.split()
        content = [k for k, t in enumerate(tokens) if len(t.strip(":,.;?")) > 3]
        if len(content) < 3:
            continue
        share = rng.uniform(0.35, 0.6)
        for k in rng.sample(content, max(2, round(share * len(content)))):
            word = tokens[k]
            core = word.strip(":,.;?")
            tokens[k] = word.replace(core, rng.choice(vocabulary))
        title = " ".join(tokens)
        if title.lower() in seen:
            continue
        seen.add(title.lower())
        k = len(out)
        sentences = re.split(r"(?<=[.!?])\s+", rng.choice(abstracts)) if abstracts else []
        rng.shuffle(sentences)
        out.append(
            Paper(
                title=title,
                abstract=" ".join(sentences),
                authors=tuple(rng.sample(families, rng.randint(1, 6))),
                year=rng.randint(1995, 2024),
                journal=rng.choice(journals),
                doi=f"10.{rng.randint(1000, 9999)}/syn.{k}" if rng.random() < 0.85 else None,
                pmid=str(40_000_000 + k) if rng.random() < 0.75 else None,
            )
        )
    return out


def subset(cases: DedupCases, n: int) -> DedupCases:
    """The first ``n`` records of a set (records are in random order), with their truth."""
    records = cases.records[:n]
    kept = {r.id for r in records}
    return DedupCases(
        records,
        {i: p for i, p in cases.paper_of.items() if i in kept},
        cases.review & kept,
        dict(cases.composition, records=len(records)),
    )


# --- scoring ------------------------------------------------------------------------------------


def implied_pairs(pairs) -> set[frozenset[str]]:
    """All pairs of records the given pairs put in one group (union of their components)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        parent[find(p.duplicate)] = find(p.kept)
    groups: dict[str, list[str]] = {}
    for x in list(parent):
        groups.setdefault(find(x), []).append(x)
    return {frozenset(q) for g in groups.values() for q in combinations(sorted(g), 2)}


def score(cases: DedupCases, pairs) -> dict[str, float]:
    """Pairwise precision and recall of the certain merges, and recall with uncertain ones.

    Certain merges are expanded to their groups' pairs. Precision counts any true pair (a
    conference abstract merged with its article is right); recall of certain merges is over the
    auto pairs, and also given over all true pairs. "found" adds, for each uncertain pair, the
    pairs between the two certain groups it links (not chained further).
    """
    certain = [p for p in pairs if p.certain]
    merged = implied_pairs(certain)
    true, auto = cases.true_pairs(), cases.auto_pairs()
    members: dict[str, set[str]] = {}
    for pair in merged:
        for x in pair:
            members.setdefault(x, {x}).update(pair)
    found = set(merged)
    uncertain = [p for p in pairs if not p.certain]
    for p in uncertain:
        for x in members.get(p.duplicate, {p.duplicate}):
            for y in members.get(p.kept, {p.kept}):
                found.add(frozenset((x, y)))
    uncertain_true = sum(cases.paper_of[p.duplicate] == cases.paper_of[p.kept] for p in uncertain)
    return {
        "certain_precision": len(merged & true) / len(merged) if merged else 1.0,
        "certain_recall": len(merged & auto) / len(auto) if auto else 1.0,
        "certain_recall_all": len(merged & true) / len(true) if true else 1.0,
        "found_recall": len(found & true) / len(true) if true else 1.0,
        "uncertain_precision": uncertain_true / len(uncertain) if uncertain else 1.0,
        "certain_pairs": len(certain),
        "uncertain_pairs": len(uncertain),
    }
