"""Deduplication of search records: normalisation, each evidence rule, grouping, the test set."""

from __future__ import annotations

import random
import re
import subprocess
import sys

import pytest

from dedup_cases import SHARED_PAPERS, build_cases, implied_pairs, load_papers, score
from neuroreview.model.record import Record
from neuroreview.screening.dedup import DuplicatePair, find_duplicates
from neuroreview.screening.normalise import (
    family_name,
    family_names,
    is_notice,
    is_translated_title,
    normalise_doi,
    normalise_journal,
    normalise_pmid,
    normalise_title,
)

TITLE = "Increased amygdala activation during emotional face processing in major depression"
ABSTRACT = (
    "Background: Depression is associated with altered emotion processing. We pooled 42 fMRI "
    "studies of emotional faces in patients with major depressive disorder and healthy "
    "controls with activation likelihood estimation. Patients showed increased amygdala and "
    "decreased dorsolateral prefrontal activation. These findings support a limbic bias."
)


def rec(record_id: str, **fields) -> Record:
    """A journal article record, every field overridable."""
    base = {
        "title": TITLE,
        "authors": ["Smith, John A.", "Doe, Jane"],
        "year": 2019,
        "journal": "Biol Psychiatry",
        "kind": "Journal Article",
    }
    return Record(id=record_id, **{**base, **fields})


def only_pair(records: list[Record], **kwargs) -> DuplicatePair:
    pairs = find_duplicates(records, **kwargs)
    assert len(pairs) == 1, pairs
    return pairs[0]


# --- normalisation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.1016/j.biopsych.2012.03.005", "10.1016/j.biopsych.2012.03.005"),
        ("https://doi.org/10.1016/J.BIOPSYCH.2012.03.005", "10.1016/j.biopsych.2012.03.005"),
        ("http://dx.doi.org/10.1016/j.biopsych.2012.03.005", "10.1016/j.biopsych.2012.03.005"),
        ("DOI: 10.1016/j.biopsych.2012.03.005.", "10.1016/j.biopsych.2012.03.005"),
        ("doi:10.1016/j.biopsych.2012.03.005;", "10.1016/j.biopsych.2012.03.005"),
        ("10.1016/j.biopsych.2012.03.005 [doi]", "10.1016/j.biopsych.2012.03.005"),
        (" 10.1016/j.biopsych.\n2012.03.005 ", "10.1016/j.biopsych.2012.03.005"),
        ("https://doi.org/10.1016%2Fj.x.1", "10.1016/j.x.1"),
        ("10.1016/0006-3223(89)90013-0)", "10.1016/0006-3223(89)90013-0"),
        ("10.1016/0006-3223(89)90013-0", "10.1016/0006-3223(89)90013-0"),
        ("not a doi", None),
        ("10.1016", None),
        ("10.1016/", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_doi(text, expected):
    assert normalise_doi(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (123, "123"),
        ("123", "123"),
        ("00123", "123"),
        ("PMID: 37697725", "37697725"),
        ("pmid:37697725", "37697725"),
        ("37697725 [pmid]", "37697725"),
        ("37697725.0", "37697725"),
        ("https://pubmed.ncbi.nlm.nih.gov/37697725/", "37697725"),
        (0, None),
        ("0", None),
        ("000", None),
        (-5, None),
        ("1234567890", None),
        ("12a4", None),
        ("", None),
        (None, None),
        (True, None),
    ],
)
def test_normalise_pmid(text, expected):
    assert normalise_pmid(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A Meta-Analysis: Brain, Mind.", "a meta analysis brain mind"),
        ("Alzheimer’s disease – a meta‑analysis", "alzheimers disease a meta analysis"),
        ("Parkinson's  disease\u00a0and “fMRI”", "parkinsons disease and fmri"),
        ("Méta-analyse de l'activité cérébrale", "meta analyse de lactivite cerebrale"),
        ("Sjögren straße Łódź", "sjogren strasse lodz"),
        ("α-synuclein and β-amyloid", "alpha synuclein and beta amyloid"),
        ("<i>In vivo</i> imaging &amp; PET", "in vivo imaging and pet"),
        ('{\\"o}sterreich \\textit{Study} of $\\alpha$-waves', "osterreich study of alpha waves"),
        ("[Functional imaging of pain in children].", "functional imaging of pain in children"),
        ("T133. NEURAL CORRELATES OF PSYCHOSIS", "neural correlates of psychosis"),
        ("  ", ""),
        (None, ""),
    ],
)
def test_normalise_title(text, expected):
    assert normalise_title(text) == expected


def test_translated_titles_and_notices():
    assert is_translated_title("[Functional imaging of pain in children].")
    assert is_translated_title("[Functional imaging of pain in children]")
    assert not is_translated_title("Functional imaging [fMRI] of pain")
    assert not is_translated_title(None)
    assert is_notice(normalise_title("Correction to: Brain networks of decision-making"))
    assert is_notice(normalise_title('Comment on "Resting-state fMRI in Parkinson\'s disease"'))
    assert is_notice(normalise_title('"Resting-state fMRI": Answer to Wang and colleagues.'))
    assert not is_notice(normalise_title("Neural correlates of error correction in children"))


@pytest.mark.parametrize(
    ("author", "expected"),
    [
        ("Smith, John A.", "smith"),
        ("Smith, J.", "smith"),
        ("Smith JA", "smith"),
        ("J. A. Smith", "smith"),
        ("John Smith", "smith"),
        ("SMITH, J", "smith"),
        ("Müller-Axt, Christa", "mulleraxt"),
        ("van der Berg, J.", "vanderberg"),
        ("Jan van der Berg", "vanderberg"),
        ("D'Esposito M", "desposito"),
        ("nan, nan", ""),
        ("", ""),
    ],
)
def test_family_name(author, expected):
    assert family_name(author) == expected


def test_family_names_and_journals():
    assert family_names(["Smith, J. and Doe, A.", "Roe R"]) == ("smith", "doe", "roe")
    assert family_names(["Smith J; Doe A"]) == ("smith", "doe")
    assert normalise_journal("The Journal of Neuroscience") == "journal neuroscience"
    assert normalise_journal(None) == ""


# --- evidence rules ----------------------------------------------------------------------------


def test_same_doi_in_different_forms_is_certain():
    pair = only_pair(
        [
            rec("a", doi="https://doi.org/10.1016/J.BIOPSYCH.2012.03.005", abstract=ABSTRACT),
            rec("b", doi="DOI: 10.1016/j.biopsych.2012.03.005.", title=TITLE.upper()),
        ]
    )
    assert pair == DuplicatePair("b", "a", 1.0, "same DOI 10.1016/j.biopsych.2012.03.005", True)


def test_same_doi_with_titles_that_disagree_is_uncertain():
    pair = only_pair(
        [
            rec("a", doi="10.1016/j.x.2019.1", abstract=ABSTRACT),
            rec("b", doi="10.1016/j.x.2019.1", title="Erratum: wrong figure legend in table two"),
        ]
    )
    assert (pair.duplicate, pair.kept, pair.certain) == ("b", "a", False)
    assert pair.evidence.startswith("same DOI 10.1016/j.x.2019.1 but titles")
    assert pair.score < 0.6


def test_same_doi_with_a_translated_title_is_certain():
    pair = only_pair(
        [
            rec("a", doi="10.1016/j.x.2019.1", title=f"[{TITLE}]."),
            rec(
                "b",
                doi="10.1016/j.x.2019.1",
                title="Aumento de la activación de la amígdala en la depresión mayor",
            ),
        ]
    )
    assert pair.certain
    assert "translated title" in pair.evidence
    assert "same first author smith" in pair.evidence


def test_same_pmid_in_different_forms_is_certain():
    pair = only_pair([rec("a", pmid="PMID: 0012345", abstract=ABSTRACT), rec("b", pmid=12345)])
    assert pair == DuplicatePair("b", "a", 1.0, "same PMID 12345", True)


def test_same_pmid_with_titles_that_disagree_is_uncertain():
    pair = only_pair(
        [rec("a", pmid="12345"), rec("b", pmid="12345", title="Reply to the letter by Jones")]
    )
    assert not pair.certain
    assert pair.evidence.startswith("same PMID 12345 but titles")


def test_same_doi_and_different_pmids_need_nearly_equal_titles():
    pair = only_pair(
        [rec("a", doi="10.1/x", pmid="1", abstract=ABSTRACT), rec("b", doi="10.1/x", pmid="2")]
    )
    assert pair.certain
    assert pair.evidence == "same DOI 10.1/x; PMIDs differ (1, 2)"


def test_different_dois_with_alike_titles_are_not_certain():
    pair = only_pair([rec("a", doi="10.1101/2019.01.01.1"), rec("b", doi="10.1016/j.x.2019.1")])
    assert not pair.certain
    assert "different DOIs 10.1101/2019.01.01.1 and 10.1016/j.x.2019.1" in pair.evidence


def test_alike_titles_with_same_author_and_year_are_certain():
    pair = only_pair(
        [
            rec("a", doi="10.1/x", abstract=ABSTRACT),
            rec(
                "b",
                title="INCREASED AMYGDALA ACTIVATION DURING EMOTIONAL FACE-PROCESSING IN MAJOR "
                "DEPRESSION.",
                authors=["Smith J"],
            ),
        ]
    )
    assert pair == DuplicatePair(
        "b", "a", 1.0, "titles 100% alike, same year 2019, same first author smith", True
    )


def test_title_with_a_typo_and_year_one_later_is_certain():
    pair = only_pair([rec("a"), rec("b", title=TITLE.replace("amygdala", "amygdlaa"), year=2020)])
    assert pair.certain
    assert pair.score >= 0.95
    assert "years 2019 and 2020, same first author smith" in pair.evidence


def test_years_far_apart_or_authors_disagreeing_are_not_certain():
    far = only_pair([rec("a"), rec("b", year=2023)])
    assert not far.certain
    assert "years 2019 and 2023" in far.evidence
    other = only_pair([rec("a"), rec("b", authors=["Jones, Peter"])])
    assert not other.certain
    assert "first authors" in other.evidence
    assert find_duplicates([rec("a"), rec("b", authors=["Jones, Peter"], year=2024)]) == []


def test_missing_year_or_author_is_not_certain():
    assert not only_pair([rec("a"), rec("b", year=None)]).certain
    assert not only_pair([rec("a"), rec("b", authors=[])]).certain


def test_truncated_title_of_eight_words_is_certain():
    words = TITLE.split()
    pair = only_pair([rec("a", abstract=ABSTRACT), rec("b", title=" ".join(words[:8]) + " pro")])
    assert pair.certain
    assert pair.evidence.startswith("one title (9 words) is the beginning of the other")


def test_short_title_beginning_another_is_only_a_question():
    pair = only_pair([rec("a"), rec("b", title=" ".join(TITLE.split()[:5]))])
    assert not pair.certain


def test_conference_abstract_is_a_question():
    pair = only_pair(
        [
            rec("a", doi="10.1/x", abstract=ABSTRACT),
            rec(
                "b",
                kind="Conference Abstract",
                year=2017,
                abstract=ABSTRACT[:120],
                journal="Biological Psychiatry",
            ),
        ]
    )
    assert (pair.duplicate, pair.kept, pair.certain) == ("b", "a", False)
    assert "one is a conference abstract" in pair.evidence
    assert "years 2017 and 2019" in pair.evidence


def test_correction_notice_is_not_merged():
    pair = only_pair([rec("a"), rec("b", title="Correction to: " + TITLE)])
    assert not pair.certain
    assert "one is a correction, comment or reply" in pair.evidence


@pytest.mark.parametrize(
    ("changed", "word"),
    [
        (TITLE.replace("Increased", "Decreased"), "the titles differ in 'increased' / 'decreased'"),
        (TITLE.replace("major", "minor"), "the titles differ in 'major' / 'minor'"),
        (TITLE + ": study 2", "a number differs ('2' in one title only)"),
        ("Protocol: " + TITLE, "'protocol' is in one title only"),
    ],
)
def test_titles_that_differ_in_meaning_are_never_certain(changed, word):
    pair = only_pair([rec("a"), rec("b", title=changed)])
    assert not pair.certain
    assert pair.evidence.endswith(word)


def test_titles_that_differ_in_meaning_by_other_authors_are_not_proposed():
    other = rec("b", title=TITLE.replace("Increased", "Decreased"), authors=["Jones, P."])
    assert find_duplicates([rec("a"), other]) == []
    # a replaced word in titles less than strongly alike: two papers of one group
    sibling = rec("b", title=TITLE.replace("depression", "psychosis"))
    assert find_duplicates([rec("a"), sibling]) == []


def test_spelling_variants_are_not_differences_in_meaning():
    variant = TITLE.replace("processing", "procesing").replace("emotional", "emotionnal")
    assert only_pair([rec("a"), rec("b", title=variant)]).certain
    joined = rec("b", title=TITLE.replace("face processing", "faceprocessing"))
    assert only_pair([rec("a"), joined]).certain


def test_short_generic_titles_are_never_certain():
    pair = only_pair([rec("a", title="Editorial"), rec("b", title="Editorial")])
    assert not pair.certain
    assert "too short" in pair.evidence


def test_numbered_titles_are_different_papers():
    tenth = "Proceedings of the 10th annual meeting of the society for brain mapping"
    pair = only_pair([rec("a", title=tenth), rec("b", title=tenth.replace("10th", "11th"))])
    assert not pair.certain
    assert pair.evidence.endswith("the titles differ in '10th' / '11th'")


def test_generic_titles_shared_by_many_records_are_never_merged():
    title = "Abstracts of the annual meeting of the society for neuroscience"
    many = [rec(f"e{i:02d}", title=title, authors=[f"Author{i}, A."]) for i in range(25)]
    assert find_duplicates(many) == []
    many[1] = rec("e01", title=title, authors=["Author0, B."])
    pair = only_pair(many)
    assert (pair.duplicate, pair.kept, pair.certain) == ("e01", "e00", False)
    assert "the title is shared by more than 20 records" in pair.evidence


def test_translated_title_without_identifiers_is_a_question():
    pair = only_pair(
        [
            rec("a", title=f"[{TITLE}].", abstract=ABSTRACT, pmid="123"),
            rec(
                "b",
                title="Aumento de la activación de la amígdala en la depresión mayor",
                abstract=ABSTRACT,
                authors=["Smith, J."],
            ),
        ]
    )
    assert (pair.duplicate, pair.kept, pair.certain) == ("b", "a", False)
    assert "abstracts begin alike (100%), same year 2019, same first author smith" in pair.evidence


def test_translated_title_without_abstracts_meets_on_author_year_journal():
    pair = only_pair(
        [
            rec("a", title=f"[{TITLE}].", pmid="123"),
            rec("b", title="Erhöhte Aktivierung der Amygdala bei der Depression", doi="10.1/x"),
        ]
    )
    assert not pair.certain
    assert pair.score == 0.5
    assert pair.evidence.startswith("one title is MEDLINE's translation")


def test_unrelated_records_are_not_paired():
    other = rec(
        "b", title="Cerebellar contributions to timing in healthy adults", authors=["Roe, R."]
    )
    assert find_duplicates([rec("a"), other]) == []


# --- grouping ----------------------------------------------------------------------------------


def test_group_keeps_one_record_and_has_no_chains():
    records = [
        rec("c", title=TITLE.lower()),  # no identifiers: joins through the title
        rec("b", doi="10.1/x"),  # no abstract
        rec("a", doi="https://doi.org/10.1/X", abstract=ABSTRACT, pmid="9"),
        rec("d", pmid="PMID: 9", kind="Conference Abstract"),
    ]
    pairs = find_duplicates(records)
    assert [(p.duplicate, p.kept, p.certain) for p in pairs] == [
        ("b", "a", True),
        ("c", "a", True),
        ("d", "a", True),
    ]


@pytest.mark.parametrize(
    ("better", "worse"),
    [
        ({"abstract": ABSTRACT}, {"doi": "10.1/x", "pmid": "5"}),
        ({"doi": "10.1/x"}, {"pmid": "5", "keywords": ["a", "b"]}),
        ({"pmid": "5"}, {"keywords": ["fmri"], "journal": "J"}),
        ({}, {"kind": "Conference Abstract"}),
        ({"keywords": ["fmri"]}, {}),
    ],
)
def test_kept_record_is_chosen_by_preference(better, worse):
    for order in ((0, 1), (1, 0)):
        records = [rec("better", **better), rec("worse", **worse)]
        pair = only_pair([records[k] for k in order])
        assert (pair.duplicate, pair.kept) == ("worse", "better")


def test_tie_keeps_the_earlier_record():
    assert only_pair([rec("x"), rec("y")]).kept == "x"
    assert only_pair([rec("y"), rec("x")]).kept == "y"


def test_uncertain_pairs_join_kept_records_of_two_groups():
    records = [
        rec("a", doi="10.1/x", abstract=ABSTRACT),
        rec("b", doi="10.1/x"),
        rec("c", doi="10.2/y", abstract=ABSTRACT),
        rec("d", doi="10.2/y"),
    ]
    pairs = find_duplicates(records)
    certain = [(p.duplicate, p.kept) for p in pairs if p.certain]
    uncertain = [(p.duplicate, p.kept) for p in pairs if not p.certain]
    assert certain == [("b", "a"), ("d", "c")]
    assert uncertain == [("c", "a")]


def test_distinct_pairs_are_never_proposed():
    records = [rec("a"), rec("b")]
    assert find_duplicates(records, distinct=[frozenset({"a", "b"})]) == []
    assert find_duplicates(records, distinct=[frozenset({"a", "z"})]) != []


def test_distinct_records_are_not_merged_through_a_third():
    records = [
        rec("a", doi="10.1/x", abstract=ABSTRACT),
        rec("b", title=TITLE.upper()),
        rec("c", pmid="7", abstract=ABSTRACT),
    ]
    assert {(p.duplicate, p.kept) for p in find_duplicates(records)} == {("b", "a"), ("c", "a")}
    pairs = find_duplicates(records, distinct=[frozenset({"a", "c"})])
    # b matches both, so which one it is, is a person's question; a and c are never paired
    assert [(p.duplicate, p.kept, p.certain) for p in pairs] == [
        ("b", "a", False),
        ("b", "c", False),
    ]
    assert all("declared distinct" in p.evidence for p in pairs)


def test_groups_never_hold_two_dois():
    # a truncated title that begins two papers' titles: which paper it is, is a guess
    words = TITLE.split()
    records = [
        rec("a", doi="10.1/x", abstract=ABSTRACT),
        rec("b", doi="10.1/y", title=" ".join(words[:-1]) + " and anxiety", abstract=ABSTRACT),
        rec("t", title=" ".join(words[:9])),
    ]
    pairs = find_duplicates(records)
    assert not any(p.certain for p in pairs)
    assert any("matches records of two papers" in p.evidence for p in pairs)


def test_marked_duplicates_and_repeated_ids_are_ignored():
    assert find_duplicates([rec("a"), rec("b", duplicate_of="a")]) == []
    assert find_duplicates([rec("a"), rec("a", title=TITLE.upper())]) == []
    assert find_duplicates([]) == []
    assert find_duplicates([rec("a")]) == []


def test_screening_imports_no_outer_layer():
    code = (
        "import sys, neuroreview.screening.dedup; "
        "print(sorted(m for m in sys.modules if m.split('.')[:2] in "
        "[['neuroreview', x] for x in ('io', 'store', 'pipeline', 'report', 'cli', 'web')]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the test set ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cases():
    if not SHARED_PAPERS.is_file():
        pytest.skip(f"the shared screening papers are absent ({SHARED_PAPERS})")
    return build_cases(load_papers())


@pytest.fixture(scope="module")
def found(cases):
    return find_duplicates(cases.records)


def test_the_test_set_is_large_and_varied(cases):
    composition = cases.composition
    assert len(cases.records) >= 500
    assert composition["papers"] >= 895
    for kind in (
        "database copies",
        "conference abstracts",
        "translated title pairs",
        "translated title pairs sharing no identifier",
        "title truncated",
        "title typo",
        "title unicode",
        "DOI written differently",
        "DOI missing",
        "year one later",
        "similar title, different paper",
        "similar title, same first author and year",
        "same first author and year, different papers",
        "real duplicate groups in the file",
    ):
        assert composition[kind] > 0, kind
    assert composition["true pairs"] > composition["auto pairs"] > 400


def test_precision_and_recall_on_the_test_set(cases, found):
    measured = score(cases, found)
    assert measured["certain_precision"] >= 0.95
    assert measured["certain_recall"] >= 0.95
    assert measured["found_recall"] >= 0.98


def test_no_record_is_a_certain_duplicate_twice_or_kept_and_removed(found):
    certain = [p for p in found if p.certain]
    removed = [p.duplicate for p in certain]
    assert len(removed) == len(set(removed))
    assert not {p.kept for p in certain} & set(removed)
    assert not {p.kept for p in found if not p.certain} & set(removed)
    assert not {p.duplicate for p in found if not p.certain} & set(removed)
    assert all(0.0 <= p.score <= 1.0 and p.evidence for p in found)


def _by_group(pairs: list[DuplicatePair]) -> set[tuple]:
    """What ties between records to keep cannot change: certain groups, and uncertain pairs
    between groups with their score."""
    group = {}
    for pair in implied_pairs([p for p in pairs if p.certain]):
        for member in pair:
            group[member] = group.get(member, frozenset()) | pair
    found = set()
    for p in pairs:
        if p.certain:
            found.add((group[p.kept], True, 1.0))
        else:
            ends = (group.get(x, frozenset({x})) for x in (p.duplicate, p.kept))
            found.add((frozenset(ends), False, round(p.score, 9)))
    return found


def _preference(record: Record) -> tuple:
    """The documented preference for the kept record, without the position."""
    conference = bool(re.search(r"conference|abstract|meeting|proceeding", record.kind or "", re.I))
    doi, pmid = normalise_doi(record.doi), normalise_pmid(record.pmid)
    fields = (record.title, record.abstract, record.authors, record.year, record.journal)
    filled = sum(map(bool, (*fields, record.keywords, record.kind, doi, pmid)))
    return (not record.abstract, doi is None, pmid is None, conference, -filled)


def test_result_does_not_depend_on_input_order(cases, found):
    assert find_duplicates(cases.records) == found
    shuffled = list(cases.records)
    random.Random(1).shuffle(shuffled)
    again = find_duplicates(shuffled)
    assert implied_pairs([p for p in again if p.certain]) == implied_pairs(
        [p for p in found if p.certain]
    )
    assert _by_group(again) == _by_group(found)
    # the kept record of each group: the best by preference, the earliest of those that tie
    for order, result in ((cases.records, found), (shuffled, again)):
        position = {r.id: k for k, r in enumerate(order)}
        record = {r.id: r for r in order}
        groups: dict[str, set[str]] = {}
        for p in result:
            if p.certain:
                groups.setdefault(p.kept, {p.kept}).add(p.duplicate)
        for kept, members in groups.items():
            best = min(_preference(record[m]) for m in members)
            tied = [m for m in members if _preference(record[m]) == best]
            assert kept == min(tied, key=position.__getitem__)


def test_declaring_every_proposal_distinct_leaves_nothing(cases, found):
    distinct = [frozenset((p.duplicate, p.kept)) for p in found if not p.certain]
    again = find_duplicates(cases.records, distinct=distinct)
    assert not {frozenset((p.duplicate, p.kept)) for p in again} & set(distinct)
