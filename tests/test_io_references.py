"""Search-result exports (RIS, Web of Science, BibTeX, MEDLINE, CSV/TSV, JSONL) into Records:
every field read, format detection, one test per kind of malformed input, the shared labelled
set, and fuzzing (a mutated export gives records or an InputError, never another exception)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzzing import line_mutations
from neuroreview.errors import InputError
from neuroreview.io.references import (
    REFERENCE_FORMATS,
    ReferenceFile,
    detect_reference_format,
    read_references,
)
from neuroreview.io.references.delimited import split_authors

SCREENING = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "screening"
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def read_error(folder: Path, name: str, text: str, **kwargs) -> str:
    with pytest.raises(InputError) as caught:
        read_references(write(folder, name, text), **kwargs)
    return str(caught.value)


# ----------------------------------------------------------------------------- MEDLINE

MEDLINE = """\
PMID- 23049758
OWN - NLM
STAT- MEDLINE
DCOM- 20130402
IS  - 1932-6203 (Electronic)
VI  - 7
IP  - 9
DP  - 2012
TI  - Ketamine decreases resting state functional network connectivity in healthy
      subjects: implications for antidepressant drug action.
PG  - e44799
LID - 10.1371/journal.pone.0044799 [doi]
AB  - Ketamine, an NMDA receptor antagonist, acts as a rapid antidepressant. We
      measured resting-state fMRI connectivity in healthy subjects after ketamine
      and placebo.
FAU - Scheidegger, Milan
AU  - Scheidegger M
AD  - Department of Psychiatry, University of Zurich, Switzerland.
FAU - Walter, Martin
AU  - Walter M
FAU - Seifritz, Erich
AU  - Seifritz E
LA  - eng
PT  - Journal Article
PT  - Randomized Controlled Trial
DEP - 20121005
PL  - United States
TA  - PLoS One
JT  - PloS one
JID - 101285081
MH  - Adult
MH  - Ketamine/*pharmacology
OTO - NOTNLM
OT  - resting state
MH  - Magnetic Resonance Imaging
AID - 10.1371/journal.pone.0044799 [doi]
AID - PONE-D-12-16069 [pii]
SO  - PLoS One. 2012;7(9):e44799. doi: 10.1371/journal.pone.0044799.

PMID- 30843517
DP  - 2019 Mar 15
TI  - Subanesthetic ketamine and the amygdala: an fMRI study.
AU  - Doe J
AU  - Roe R
TA  - Neuroimage
AID - S1053-8119(19)30200-1 [pii]
AID - 10.1016/j.neuroimage.2019.03.001 [doi]
PT  - Journal Article
"""


def test_medline_reads_every_field_of_a_pubmed_record(tmp_path):
    result = read_references(write(tmp_path, "pubmed.nbib", MEDLINE))
    assert (result.format, result.source, result.labels) == ("medline", "PubMed", None)
    first, second = result.records
    assert first.id == "1"
    assert first.location == "pubmed.nbib:1"
    assert first.title == (
        "Ketamine decreases resting state functional network connectivity in healthy "
        "subjects: implications for antidepressant drug action."
    )
    assert first.abstract == (
        "Ketamine, an NMDA receptor antagonist, acts as a rapid antidepressant. We measured "
        "resting-state fMRI connectivity in healthy subjects after ketamine and placebo."
    )
    assert first.authors == ["Scheidegger, Milan", "Walter, Martin", "Seifritz, Erich"]
    assert first.year == 2012
    assert first.journal == "PloS one"
    assert first.doi == "10.1371/journal.pone.0044799"
    assert first.pmid == "23049758"
    assert first.keywords == [
        "Adult",
        "Ketamine/*pharmacology",
        "resting state",
        "Magnetic Resonance Imaging",
    ]
    assert first.kind == "Journal Article; Randomized Controlled Trial"
    assert (first.source, first.batch, first.search_date) == (None, None, None)
    # The second record: short names only, TA only, the DOI from the AID marked [doi].
    assert (second.id, second.location) == ("2", "pubmed.nbib:40")
    assert second.authors == ["Doe J", "Roe R"]
    assert (second.year, second.journal, second.pmid) == (2019, "Neuroimage", "30843517")
    assert second.doi == "10.1016/j.neuroimage.2019.03.001"
    assert second.abstract is None


def test_medline_refuses_a_line_that_is_neither_tag_nor_continuation(tmp_path):
    text = MEDLINE.replace("PL  - United States\n", "PL  - United States\nUnited Kingdom\n")
    message = read_error(tmp_path, "pubmed.nbib", text)
    assert "pubmed.nbib:28:" in message
    assert "neither a MEDLINE tag line" in message


def test_medline_refuses_a_pmid_that_is_not_digits(tmp_path):
    message = read_error(tmp_path, "pubmed.nbib", MEDLINE.replace("30843517", "30843517a"))
    assert "pubmed.nbib:40:" in message
    assert "'30843517a' is not a PubMed id" in message


def test_medline_refuses_two_records_run_together(tmp_path):
    text = MEDLINE.replace("doi: 10.1371/journal.pone.0044799.\n\n", "doi: x.\n")
    message = read_error(tmp_path, "pubmed.nbib", text)
    assert "pubmed.nbib:39:" in message
    assert "second PMID line in the record that starts on line 1" in message


# ----------------------------------------------------------------------------- RIS

EMBASE_RIS = """\
TY  - JOUR
DB  - Embase
AN  - 2010823456
T1  - Ketamine modulates hippocampal connectivity in treatment-resistant depression:
a randomized fMRI study
A1  - Abdallah, C.G.
A1  - Averill, L.A.
Y1  - 2021//
N2  - Background: Ketamine has rapid antidepressant effects.
Methods: Twenty-six patients were scanned before and after an infusion.
KW  - ketamine
KW  - functional magnetic resonance imaging
KW  - major depression
JF  - Neuropsychopharmacology
JA  - Neuropsychopharmacology
VL  - 46
SP  - 512
SN  - 1740-634X
M3  - Article
DO  - https://dx.doi.org/10.1038/s41386-020-00900-1
DP  - Ovid Technologies
ER  -

TY  - CONF
DB  - Embase
T1  - Esketamine and prefrontal glutamate: a 7T MRS study
A1  - Nakamura, Yuki
Y1  - 2019//
T2  - Biological Psychiatry
M3  - Conference Abstract
ER  -
"""


def test_ris_reads_an_embase_export_from_ovid(tmp_path):
    result = read_references(write(tmp_path, "embase.ris", EMBASE_RIS))
    assert (result.format, result.source) == ("ris", "Embase")
    first, second = result.records
    assert (first.id, first.location) == ("1", "embase.ris:1")
    assert first.title == (
        "Ketamine modulates hippocampal connectivity in treatment-resistant depression: "
        "a randomized fMRI study"
    )
    assert first.abstract == (
        "Background: Ketamine has rapid antidepressant effects. "
        "Methods: Twenty-six patients were scanned before and after an infusion."
    )
    assert first.authors == ["Abdallah, C.G.", "Averill, L.A."]
    assert first.year == 2021
    assert first.journal == "Neuropsychopharmacology"
    assert first.doi == "https://dx.doi.org/10.1038/s41386-020-00900-1"  # kept as given
    assert first.pmid is None  # an Embase accession number is not a PMID
    assert first.keywords == [
        "ketamine",
        "functional magnetic resonance imaging",
        "major depression",
    ]
    assert first.kind == "Journal"  # rispy's name for TY JOUR
    assert (second.id, second.location) == ("2", "embase.ris:24")
    assert (second.kind, second.journal, second.year) == (
        "Conference proceeding",
        "Biological Psychiatry",
        2019,
    )
    assert second.authors == ["Nakamura, Yuki"]


def test_ris_takes_an_ovid_medline_accession_number_as_pmid(tmp_path):
    text = "TY  - JOUR\nDB  - Ovid MEDLINE(R)\nAN  - 23049758\nTI  - Ketamine\nPY  - 2012\nER  - \n"
    result = read_references(write(tmp_path, "medline.ris", text))
    assert result.source == "MEDLINE"
    assert (result.records[0].pmid, result.records[0].year) == ("23049758", 2012)


def test_ris_publisher_header_names_the_database(tmp_path):
    header = "Provider: Elsevier\nDatabase: Scopus\nContent: text/plain; charset=UTF-8\n\n"
    body = "TY  - JOUR\nTI  - Ketamine\nER  - \n"
    result = read_references(write(tmp_path, "sciencedirect.ris", header + body))
    assert (result.source, result.records[0].location) == ("Scopus", "sciencedirect.ris:5")


def test_ris_with_records_from_two_databases_names_none(tmp_path):
    text = EMBASE_RIS.replace("DB  - Embase\nT1  - Esketamine", "DB  - Scopus\nT1  - Esketamine")
    assert read_references(write(tmp_path, "mixed.ris", text)).source is None


def test_ris_refuses_a_record_without_er_at_the_end_of_the_file(tmp_path):
    text = EMBASE_RIS.removesuffix("ER  -\n")
    message = read_error(tmp_path, "embase.ris", text)
    assert "embase.ris:24:" in message
    assert "no 'ER  - ' line before the end of the file" in message


def test_ris_refuses_a_new_record_before_the_last_one_ended(tmp_path):
    text = EMBASE_RIS.replace("DP  - Ovid Technologies\nER  -\n", "DP  - Ovid Technologies\n")
    message = read_error(tmp_path, "embase.ris", text)
    assert "embase.ris:23:" in message
    assert "the record that starts on line 1 has no 'ER  - ' line" in message


def test_ris_refuses_a_line_outside_any_record(tmp_path):
    text = EMBASE_RIS.replace("ER  -\n\nTY  - CONF", "ER  -\nsee also the next record\nTY  - CONF")
    message = read_error(tmp_path, "embase.ris", text)
    assert "embase.ris:23:" in message
    assert "neither a RIS tag nor the continuation of one" in message


def test_ris_refuses_a_mistyped_tag_instead_of_merging_it(tmp_path):
    message = read_error(tmp_path, "embase.ris", EMBASE_RIS.replace("JA  - Neuro", "JA - Neuro"))
    assert "embase.ris:15:" in message
    assert "malformed RIS tag line 'JA - Neuropsychopharmacology'" in message


def test_ris_refuses_an_unreadable_year_at_its_line(tmp_path):
    message = read_error(tmp_path, "embase.ris", EMBASE_RIS.replace("Y1  - 2019//", "Y1  - 19//"))
    assert "embase.ris:28:" in message
    assert "cannot read a year from '19//'" in message


def test_ris_refuses_a_record_with_neither_title_nor_doi_nor_pmid(tmp_path):
    text = EMBASE_RIS.replace("T1  - Esketamine and prefrontal glutamate: a 7T MRS study\n", "")
    message = read_error(tmp_path, "embase.ris", text)
    assert "embase.ris:24:" in message
    assert "record 2 has no title, DOI or PMID" in message


# ----------------------------------------------------------------------------- Web of Science

WOS_TAGGED = """\
FN Clarivate Analytics Web of Science
VR 1.0
PT J
AU Scheidegger, M
   Walter, M
AF Scheidegger, Milan
   Walter, Martin
TI Ketamine decreases resting state functional network connectivity in
   healthy subjects
SO PLOS ONE
DE ketamine; resting state; default mode network
ID NMDA RECEPTOR ANTAGONIST; DEPRESSION
AB Ketamine acts fast against depression.
PY 2012
DI 10.1371/journal.pone.0044799
PM 23049758
DT Article
UT WOS:000309564000030
ER

EF
"""


def test_web_of_science_tagged_export_is_read_as_ris(tmp_path):
    result = read_references(write(tmp_path, "savedrecs.txt", WOS_TAGGED))
    assert (result.format, result.source) == ("ris", "Web of Science")
    (record,) = result.records
    assert record.location == "savedrecs.txt:3"
    assert record.title == (
        "Ketamine decreases resting state functional network connectivity in healthy subjects"
    )
    assert record.authors == ["Scheidegger, Milan", "Walter, Martin"]
    assert (record.year, record.journal, record.kind) == (2012, "PLOS ONE", "Article")
    assert (record.doi, record.pmid) == ("10.1371/journal.pone.0044799", "23049758")
    assert record.abstract == "Ketamine acts fast against depression."
    assert record.keywords == [
        "ketamine",
        "resting state",
        "default mode network",
        "NMDA RECEPTOR ANTAGONIST",
        "DEPRESSION",
    ]


def test_web_of_science_tagged_refuses_an_unindented_continuation(tmp_path):
    text = WOS_TAGGED.replace("   healthy subjects", "healthy subjects")
    message = read_error(tmp_path, "savedrecs.txt", text)
    assert "savedrecs.txt:9:" in message
    assert "neither a tag nor the continuation" in message


# ----------------------------------------------------------------------------- BibTeX

BIBTEX = r"""% Exported from Scopus
@ARTICLE{Muller2020,
    author = {M{\"u}ller, J{\"o}rg and Garc{\'\i}a-L{\'o}pez, Ana and {ENIGMA Consortium} and others},
    title = {{Ketamine} and the {\"U}bergang of $\alpha$-band
             connectivity: an {fMRI} study},
    journal = {NeuroImage},
    year = {2020},
    volume = {210},
    doi = {10.1016/j.neuroimage.2020.116570},
    pmid = {31972283},
    abstract = {We scanned 30 volunteers.},
    keywords = {ketamine; fMRI; NMDA receptor},
    source = {Scopus},
}

@inproceedings{Muller2020,
    author = {{\v{S}}imi{\'c}, Goran},
    title = {Esketamine {PET} imaging},
    booktitle = {Proceedings of the OHBM Annual Meeting},
    year = {2019},
    source = {Scopus},
}
"""


def test_bibtex_decodes_latex_and_reads_every_field(tmp_path):
    result = read_references(write(tmp_path, "scopus.bib", BIBTEX))
    assert (result.format, result.source) == ("bibtex", "Scopus")
    first, second = result.records
    assert (first.id, first.location) == ("1", "scopus.bib:2")
    assert first.title == "Ketamine and the Übergang of α-band connectivity: an fMRI study"
    assert first.authors == ["Müller, Jörg", "García-López, Ana", "ENIGMA Consortium"]
    assert (first.year, first.journal, first.kind) == (2020, "NeuroImage", "article")
    assert (first.doi, first.pmid) == ("10.1016/j.neuroimage.2020.116570", "31972283")
    assert first.abstract == "We scanned 30 volunteers."
    assert first.keywords == ["ketamine", "fMRI", "NMDA receptor"]
    # The repeated citation key is another paper, not an error.
    assert (second.id, second.location, second.kind) == ("2", "scopus.bib:16", "inproceedings")
    assert (second.title, second.authors) == ("Esketamine PET imaging", ["Šimić, Goran"])
    assert (second.journal, second.year) == ("Proceedings of the OHBM Annual Meeting", 2019)


def test_bibtex_refuses_a_block_bibtexparser_cannot_parse(tmp_path):
    text = BIBTEX.replace(
        "title = {Esketamine {PET} imaging},", "title = {Esketamine {PET imaging},"
    )
    message = read_error(tmp_path, "scopus.bib", text)
    assert "scopus.bib:16:" in message
    assert "bibtexparser cannot read this entry" in message


def test_bibtex_refuses_an_author_list_it_cannot_split(tmp_path):
    text = BIBTEX.replace(r"{{\v{S}}imi{\'c}, Goran}", "{Simic, Goran, and Doe}")
    message = read_error(tmp_path, "scopus.bib", text)
    assert "scopus.bib:16:" in message
    assert "Trailing comma" in message


def test_bibtex_refuses_an_entry_that_lost_its_at_sign(tmp_path):
    message = read_error(
        tmp_path, "scopus.bib", BIBTEX.replace("@inproceedings{", "inproceedings{")
    )
    assert "scopus.bib:16:" in message
    assert "'inproceedings{Muller2020,' is outside any entry" in message


# ----------------------------------------------------------------------------- CSV / TSV

SCOPUS_CSV = """\
Authors,Author full names,Author(s) ID,Title,Year,Source title,Volume,DOI,Link,Abstract,Author Keywords,Index Keywords,PubMed ID,Document Type,Publication Stage,Source,EID
"Abdallah C.G.; Averill L.A.","Abdallah, Chadi G. (36170003900); Averill, Lynnette A. (56178291600)","36170003900; 56178291600","Ketamine and the prefrontal cortex: a pharmacological fMRI study",2018,"Neuropsychopharmacology",43,"10.1038/npp.2017.250","https://www.scopus.com/inward/record.uri?eid=2-s2.0-85034111111","Ketamine raised
prefrontal connectivity.","ketamine; fMRI","Ketamine; Prefrontal Cortex; fMRI",29052615,"Article","Final","Scopus","2-s2.0-85034111111"
"Nakamura Y.","Nakamura, Yuki (57200000000)","57200000000","Esketamine in the scanner",2020,"Biological Psychiatry",87,"","","","","",,"Conference Paper","Final","Scopus","2-s2.0-85080000000"
"""


def test_scopus_csv_reads_every_field_and_the_row_start_lines(tmp_path):
    result = read_references(write(tmp_path, "scopus.csv", SCOPUS_CSV))
    assert (result.format, result.source) == ("csv", "Scopus")
    first, second = result.records
    assert (first.id, first.location) == ("1", "scopus.csv:2")
    assert first.title == "Ketamine and the prefrontal cortex: a pharmacological fMRI study"
    assert first.authors == ["Abdallah, Chadi G.", "Averill, Lynnette A."]
    assert (first.year, first.journal, first.kind) == (2018, "Neuropsychopharmacology", "Article")
    assert (first.doi, first.pmid) == ("10.1038/npp.2017.250", "29052615")
    assert first.abstract == "Ketamine raised\nprefrontal connectivity."
    assert first.keywords == ["ketamine", "fMRI", "Ketamine", "Prefrontal Cortex"]
    # The first row's abstract spans two lines, so the second row starts on line 4.
    assert (second.id, second.location) == ("2", "scopus.csv:4")
    assert (second.doi, second.pmid, second.kind) == (None, None, "Conference Paper")
    assert second.authors == ["Nakamura, Yuki"]


WOS_TSV = (
    "PT\tAU\tAF\tTI\tSO\tDE\tID\tAB\tPY\tDI\tPM\tDT\tUT\n"
    "J\tScheidegger, M; Walter, M\tScheidegger, Milan; Walter, Martin\t"
    "Ketamine decreases resting state functional network connectivity\tPLOS ONE\t"
    "ketamine; resting state\tDEFAULT MODE NETWORK\tKetamine acts fast.\t2012\t"
    "10.1371/journal.pone.0044799\t23049758\tArticle\tWOS:000309564000030\t\n"
)


def test_web_of_science_tab_delimited_export(tmp_path):
    result = read_references(write(tmp_path, "savedrecs.txt", WOS_TSV))  # found by its tabs
    assert (result.format, result.source) == ("csv", "Web of Science")
    (record,) = result.records
    assert record.location == "savedrecs.txt:2"
    assert record.title == "Ketamine decreases resting state functional network connectivity"
    assert record.authors == ["Scheidegger, Milan", "Walter, Martin"]
    assert (record.year, record.journal, record.kind) == (2012, "PLOS ONE", "Article")
    assert (record.doi, record.pmid) == ("10.1371/journal.pone.0044799", "23049758")
    assert record.abstract == "Ketamine acts fast."
    assert record.keywords == ["ketamine", "resting state", "DEFAULT MODE NETWORK"]


def test_generic_tsv_with_plain_column_names(tmp_path):
    text = (
        "title\tabstract\tauthors\tyear\tjournal\tdoi\tpmid\tkeywords\n"
        "  Ketamine   and the  insula \tA ketamine study.\tSmith, John; Doe, Anne\t2015\t"
        "J Psychopharmacol\t 10.1177/0269881115570000 \t25600000\tketamine; insula\n"
        "\n"
        "Esketamine\t\tSmith, John\tin press\t\t\t\t\n"
    )
    result = read_references(write(tmp_path, "hand.tsv", text))
    assert (result.format, result.source) == ("csv", None)
    first, second = result.records
    assert first.title == "Ketamine and the insula"
    assert (first.abstract, first.authors) == ("A ketamine study.", ["Smith, John", "Doe, Anne"])
    assert (first.year, first.journal) == (2015, "J Psychopharmacol")
    assert (first.doi, first.pmid) == ("10.1177/0269881115570000", "25600000")
    assert first.keywords == ["ketamine", "insula"]
    assert first.kind is None
    # A blank line is skipped; "in press" gives no year; one "Family, Given" stays one author.
    assert (second.location, second.year, second.authors) == ("hand.tsv:4", None, ["Smith, John"])


def test_pubmed_csv_splits_short_author_names(tmp_path):
    text = (
        "PMID,Title,Authors,Citation,First Author,Journal/Book,Publication Year,Create Date,"
        "PMCID,NIHMS ID,DOI\n"
        '23049758,"Ketamine decreases connectivity.","Scheidegger M, Walter M, ENIGMA '
        'Consortium.","PLoS One. 2012;7(9):e44799.","Scheidegger M","PLoS One",2012,2012/10/12,'
        "PMC3465337,,10.1371/journal.pone.0044799\n"
    )
    result = read_references(write(tmp_path, "csv-ketamine.csv", text))
    assert result.source == "PubMed"
    (record,) = result.records
    assert record.authors == ["Scheidegger M", "Walter M", "ENIGMA Consortium"]
    assert (record.journal, record.year, record.pmid) == ("PLoS One", 2012, "23049758")
    assert record.doi == "10.1371/journal.pone.0044799"


@pytest.mark.parametrize(
    ("header", "source"),
    [
        ("Title,Author Names,Source title,Publication Year,DOI,Medline PMID,PUI", "Embase"),
        ("Title,Authors,Publication Date,Source,Subjects,Database", "PsycINFO"),
        ("Title,Authors,Publication Date,Source,Subjects", "EBSCO"),
        (
            "Article Title,Author Full Names,Source Title,Publication Year,UT (Unique WOS ID)",
            "Web of Science",
        ),
    ],
)
def test_csv_signatures_name_the_database(tmp_path, header, source):
    cells = {
        "database": "APA PsycInfo",
        "publication year": "2019",
        "publication date": "20190315",
        "medline pmid": "31000000",
    }
    row = ",".join(cells.get(name.lower(), "Ketamine") for name in header.split(","))
    result = read_references(write(tmp_path, "export.csv", f"{header}\n{row}\n"))
    assert result.source == source
    assert (result.records[0].title, result.records[0].year) == ("Ketamine", 2019)


@pytest.mark.parametrize(
    ("cell", "authors"),
    [
        (
            "Abdallah C.G., Averill L.A., Krystal J.H.",
            ["Abdallah C.G.", "Averill L.A.", "Krystal J.H."],
        ),
        ("Smith J, Doe A.", ["Smith J", "Doe A"]),
        ("Smith, John", ["Smith, John"]),
        ("Smith, John; Doe, Anne", ["Smith, John", "Doe, Anne"]),
        (
            "Abdallah, Chadi G. (36170003900); Wang, Y.; Wang, Y.",
            ["Abdallah, Chadi G.", "Wang, Y.", "Wang, Y."],
        ),
        ("", []),
    ],
)
def test_author_cells_are_split_as_each_export_writes_them(cell, authors):
    assert split_authors(cell) == authors


def test_csv_refuses_a_row_with_more_cells_than_the_header(tmp_path):
    text = SCOPUS_CSV.replace('"Nakamura Y."', '"Nakamura Y.",extra,')
    message = read_error(tmp_path, "scopus.csv", text)
    assert "scopus.csv:4:" in message
    assert "this row has 19 cells but the header has 17 columns" in message


def test_csv_refuses_a_table_without_title_doi_or_pmid_column(tmp_path):
    message = read_error(tmp_path, "export.csv", "Name,Year\nKetamine,2019\n")
    assert "export.csv:1:" in message
    assert "no title, DOI or PMID column" in message
    assert "columns found: 'Name', 'Year'" in message


def test_csv_refuses_an_unreadable_year_at_its_row(tmp_path):
    text = "title,year\nKetamine,2019\nEsketamine,'20\n"
    message = read_error(tmp_path, "export.csv", text)
    assert "export.csv:3:" in message
    assert 'cannot read a year from "\'20"' in message


def test_csv_refuses_an_unclosed_quote(tmp_path):
    message = read_error(tmp_path, "export.csv", 'title,doi\n"Ketamine,10.1/x\n')
    assert "export.csv:" in message
    assert "not valid CSV" in message


def test_csv_refuses_a_pmid_with_other_text(tmp_path):
    message = read_error(tmp_path, "export.csv", "title,pmid\nKetamine,23049758\nX,PMID: 1\n")
    assert "export.csv:3:" in message
    assert "the PMID 'PMID: 1' is not a PubMed id" in message


# ----------------------------------------------------------------------------- JSONL


def test_jsonl_reads_fields_and_labels(tmp_path):
    lines = [
        {
            "pmcid": "3465337",
            "pmid": 23049758,
            "doi": "10.1371/journal.pone.0044799",
            "year": "2012",
            "journal": "PLoS One",
            "authors": "Scheidegger, Milan and Walter, Martin",
            "title": "Ketamine decreases\n  resting state connectivity",
            "abstract": "## Background\n\nKetamine.",
            "keywords": "ketamine\nresting state, fMRI",
            "labels": ["include", "algorithm-ALE"],
        },
        {"title": "Ketamine and ALE", "authors": ["Doe, Jane"], "year": 2020, "keywords": "a; b"},
    ]
    text = "\n".join(json.dumps(line) for line in lines) + "\n\n"
    result = read_references(write(tmp_path, "labelled.jsonl", text))
    assert (result.format, result.source) == ("jsonl", None)
    assert result.labels == [["include", "algorithm-ALE"], []]
    first, second = result.records
    assert first.title == "Ketamine decreases resting state connectivity"
    assert first.abstract == "## Background\n\nKetamine."
    assert first.authors == ["Scheidegger, Milan", "Walter, Martin"]
    assert (first.year, first.journal, first.pmid) == (2012, "PLoS One", "23049758")
    assert first.keywords == ["ketamine", "resting state, fMRI"]
    assert (second.location, second.authors, second.year) == (
        "labelled.jsonl:2",
        ["Doe, Jane"],
        2020,
    )
    assert second.keywords == ["a", "b"]


def test_jsonl_without_any_labels_key_has_no_labels(tmp_path):
    result = read_references(write(tmp_path, "plain.jsonl", '{"doi": "10.1/x"}\n'))
    assert (result.labels, result.records[0].doi, result.records[0].title) == (None, "10.1/x", None)


def test_jsonl_refuses_a_line_that_is_not_an_object(tmp_path):
    message = read_error(tmp_path, "set.jsonl", '{"title": "Ketamine"}\n["Ketamine"]\n')
    assert "set.jsonl:2:" in message
    assert "holds a JSON list, not an object" in message


def test_jsonl_refuses_a_line_that_is_not_json(tmp_path):
    message = read_error(tmp_path, "set.jsonl", '{"title": "Ketamine"}\n\n{"title": "x",}\n')
    assert "set.jsonl:3:" in message
    assert "not valid JSON" in message


def test_jsonl_refuses_a_pmid_with_other_text(tmp_path):
    message = read_error(tmp_path, "set.jsonl", '{"title": "Ketamine", "pmid": "PMC3465337"}\n')
    assert "set.jsonl:1:" in message
    assert "'PMC3465337' is not a PubMed id" in message


def test_jsonl_refuses_labels_that_are_not_a_list_of_texts(tmp_path):
    message = read_error(tmp_path, "set.jsonl", '{"title": "Ketamine", "labels": "exclude"}\n')
    assert "set.jsonl:1:" in message
    assert "'labels' must be a list of texts" in message


def test_shared_labelled_screening_set():
    path = SCREENING / "neuro_meta_analyses.jsonl"
    if not path.is_file():
        pytest.skip(f"the shared screening set {path} is absent (a sibling 'shared' checkout)")
    result = read_references(path)
    assert (result.format, result.source) == ("jsonl", None)
    assert len(result.records) == 899
    assert result.labels is not None and len(result.labels) == 899
    assert sum("exclude" in labels for labels in result.labels) == 146
    assert sum("algorithm-ALE" in labels for labels in result.labels) == 427
    first = result.records[0]
    assert (first.id, first.location) == ("1", "neuro_meta_analyses.jsonl:1")
    assert first.title.startswith("Associations between neurovascular coupling")
    assert (first.pmid, first.doi, first.year) == ("37697725", "10.1177/23969873231196981", 2023)
    assert first.authors == ["Yang, Sheng", "Webb, Alastair John Stewart"]
    assert first.keywords[0] == "Blood-oxygen-level-dependent (BOLD)"
    assert [r.id for r in result.records[-2:]] == ["898", "899"]


# ----------------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("search.ris", "", "ris"),
        ("search.RIS", "", "ris"),
        ("savedrecs.ciw", "", "ris"),
        ("search.ris.gz", "", "ris"),
        ("library.bib", "", "bibtex"),
        ("pubmed.nbib", "", "medline"),
        ("export.medline", "", "medline"),
        ("scopus.csv", "", "csv"),
        ("hand.tsv", "", "csv"),
        ("set.jsonl", "", "jsonl"),
        ("endnote.txt", "\n\nTY  - JOUR\nER  - \n", "ris"),
        ("pubmed-ketamine.txt", "\nPMID- 23049758\nTI  - Ketamine\n", "medline"),
        ("savedrecs.txt", "FN Clarivate Analytics Web of Science\nVR 1.0\n", "ris"),
        ("citations", "@article{a, title={x}}\n", "bibtex"),
        ("set.txt", '{"title": "x"}\n', "jsonl"),
        ("savedrecs.txt", "PT\tAU\tTI\tPY\n", "csv"),
    ],
)
def test_detects_the_format_by_suffix_then_first_line(tmp_path, name, text, expected):
    assert detect_reference_format(write(tmp_path, name, text)) == expected


def test_an_unknown_format_names_the_file_and_the_formats(tmp_path):
    path = write(tmp_path, "notes.txt", "Ketamine papers to read\n")
    with pytest.raises(InputError) as caught:
        detect_reference_format(path)
    assert "notes.txt" in str(caught.value)
    assert "ris, bibtex, medline, csv, jsonl" in str(caught.value)
    assert REFERENCE_FORMATS == ("ris", "bibtex", "medline", "csv", "jsonl")
    with pytest.raises(InputError, match="notes.txt: cannot tell the reference format"):
        read_references(path)


def test_an_explicit_format_overrides_the_suffix_and_is_checked(tmp_path):
    path = write(tmp_path, "export.dat", EMBASE_RIS)
    assert len(read_references(path, format="RIS").records) == 2
    with pytest.raises(InputError, match="unknown reference format 'endnote'"):
        read_references(path, format="endnote")


def test_gzipped_export_is_read(tmp_path):
    path = tmp_path / "pubmed.nbib.gz"
    path.write_bytes(gzip.compress(MEDLINE.encode()))
    result = read_references(path)
    assert (result.format, len(result.records), result.records[0].location) == (
        "medline",
        2,
        "pubmed.nbib.gz:1",
    )


# ----------------------------------------------------------------------------- common failures


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("empty.ris", "\n\n"),
        ("empty.nbib", ""),
        ("empty.bib", "% nothing exported\n"),
        ("empty.csv", "Title,DOI\n"),
        ("empty.jsonl", "\n"),
    ],
)
def test_a_file_without_records_is_refused(tmp_path, name, text):
    message = read_error(tmp_path, name, text)
    assert f"{name}: contains no records" in message


def test_missing_file_and_non_utf8_bytes_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="absent.ris: file not found"):
        read_references(tmp_path / "absent.ris")
    path = tmp_path / "latin1.ris"
    path.write_bytes("TY  - JOUR\nTI  - K\xe9tamine\nER  - \n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1.ris:2: is not UTF-8"):
        read_references(path)


def test_titles_are_nfc_normalised(tmp_path):
    decomposed = "Ke\u0301tamine"  # e + combining acute accent
    result = read_references(write(tmp_path, "set.jsonl", json.dumps({"title": decomposed})))
    assert result.records[0].title == "K\u00e9tamine"
    assert isinstance(result, ReferenceFile)


# ----------------------------------------------------------------------------- fuzzing

JUNK = st.sampled_from(
    [
        "",
        "ER  - ",
        "TY  - JOUR",
        "PMID- 12x",
        "PY  - 20l9",
        "      continued",
        "@article{x,",
        "}",
        '"',
        "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t",
        "{}",
        "[1]",
        "PT J",
        "\t\t",
    ]
)
VALID = {
    "embase.ris": EMBASE_RIS,
    "pubmed.nbib": MEDLINE,
    "savedrecs.txt": WOS_TAGGED,
    "scopus.bib": BIBTEX,
    "scopus.csv": SCOPUS_CSV,
    "set.jsonl": '{"title": "Ketamine", "pmid": 1, "labels": ["a"]}\n{"doi": "10.1/x"}\n',
}


@FUZZ
@given(data=st.data())
@pytest.mark.parametrize("name", sorted(VALID))
def test_mutated_exports_give_records_or_input_error(tmp_path, name, data):
    text = data.draw(line_mutations(VALID[name].splitlines(), JUNK))
    path = write(tmp_path, name, text)
    try:
        result = read_references(path)
    except InputError as error:
        assert str(error).startswith(str(path))
        return
    assert result.records
    assert [record.id for record in result.records] == [
        str(i) for i in range(1, len(result.records) + 1)
    ]
