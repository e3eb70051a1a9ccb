"""``neuroreview screen``: from two database exports to a study in the store and a PRISMA diagram."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neuroreview.cli import app
from neuroreview.store import Repository

runner = CliRunner()

PUBMED = """\
PMID- 30000001
TI  - Ketamine reduces subgenual anterior cingulate activity in major depression: an
      fMRI study.
AB  - We scanned 20 patients before and after a ketamine infusion.
FAU - Smith, John
FAU - Doe, Ann
DP  - 2019 Mar
TA  - Biol Psychiatry
LID - 10.1016/j.biopsych.2019.01.001 [doi]
PT  - Journal Article

PMID- 30000002
TI  - Ketamine and reward processing in the striatum.
AB  - A placebo-controlled crossover fMRI study of healthy volunteers.
FAU - Brown, Lee
DP  - 2020
TA  - Neuropsychopharmacology
LID - 10.1038/npp.2020.5 [doi]
PT  - Journal Article

PMID- 30000003
TI  - Cardiac output after exercise in rats.
AB  - Rats ran on a treadmill.
FAU - Green, Sam
DP  - 2018
TA  - J Physiol
PT  - Journal Article
"""

EMBASE = """\
TY  - JOUR
DB  - Embase
TI  - Ketamine reduces subgenual anterior cingulate activity in major depression: An fMRI study
AU  - Smith, J.
PY  - 2019
JO  - Biological Psychiatry
DO  - https://doi.org/10.1016/J.BIOPSYCH.2019.01.001
AB  - We scanned 20 patients before and after a ketamine infusion.
ER  -

TY  - JOUR
DB  - Embase
TI  - Glutamate spectroscopy after ketamine in bipolar depression
AU  - White, Kim
PY  - 2021
JO  - J Affect Disord
DO  - 10.1016/j.jad.2021.02.002
ER  -
"""


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def ok(*args: object) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result.output


def refused(*args: object) -> str:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    return result.output


@pytest.fixture
def exports(tmp_path: Path) -> tuple[Path, Path]:
    pubmed, embase = tmp_path / "pubmed.nbib", tmp_path / "embase.ris"
    pubmed.write_text(PUBMED, encoding="utf-8")
    embase.write_text(EMBASE, encoding="utf-8")
    return pubmed, embase


@pytest.fixture
def db(tmp_path: Path, exports) -> str:
    """Both exports imported (batches 1 and 2) and deduplicated: 2.1 is a duplicate of 1.1."""
    store = str(tmp_path / "review.db")
    ok("screen", "settings", "--reason", "wrong drug", "--reason", "no imaging", "--db", store)
    ok("screen", "import", exports[0], "--date", "2026-11-01", "--db", store)
    ok("screen", "import", exports[1], "--date", "2026-11-02", "--db", store)
    assert "5 records checked: 1 duplicates merged" in ok("screen", "dedup", "--db", store)
    return store


def decide(db: str, record: str, verdict: str, reviewer: str, *extra: str) -> str:
    return ok("screen", "decide", record, verdict, "-r", reviewer, *extra, "--db", db)


def test_import_keeps_source_date_batch_and_line(db):
    with Repository(db) as repository:
        batches = repository.list_batches()
        records = {r.id: r for r in repository.list_records()}
        (merge,) = repository.list_merges()
    assert [
        (b.id, b.file, b.format, b.source, str(b.search_date), b.n_records) for b in batches
    ] == [
        ("1", "pubmed.nbib", "medline", "PubMed", "2026-11-01", 3),
        ("2", "embase.ris", "ris", "Embase", "2026-11-02", 2),
    ]
    assert sorted(records) == ["1.1", "1.2", "1.3", "2.1", "2.2"]
    first = records["1.1"]
    assert (first.source, first.batch, first.location, first.pmid) == (
        "PubMed",
        "1",
        "pubmed.nbib:1",
        "30000001",
    )
    assert records["2.2"].location == "embase.ris:11"
    # The Embase copy of 1.1 (DOI in another form) is merged into the PubMed record.
    assert (merge.duplicate, merge.kept, merge.decided_by) == ("2.1", "1.1", "automatic")
    assert "10.1016/j.biopsych.2019.01.001" in merge.evidence
    assert records["2.1"].duplicate_of == "1.1"


def test_the_same_file_twice_and_a_malformed_file_import_nothing(db, exports, tmp_path):
    again = refused("screen", "import", exports[1], "--db", db)
    assert "embase.ris: was already imported as batch 2" in again
    bad = tmp_path / "bad.ris"
    bad.write_text("TY  - JOUR\nTI  - Fine\nER  -\n\nTY  - JOUR\nTI  - No end\n", encoding="utf-8")
    assert "bad.ris:5" in refused("screen", "import", bad, "--source", "Scopus", "--db", db)
    nameless = tmp_path / "nameless.csv"
    nameless.write_text("title,year\nKetamine and mood,2020\n", encoding="utf-8")
    assert "--source" in refused("screen", "import", nameless, "--db", db)
    with Repository(db) as repository:
        assert len(repository.list_batches()) == 2 and len(repository.list_records()) == 5


def test_two_reviewers_blind_then_a_conflict_resolved_then_a_study(db, tmp_path):
    first = ok("screen", "next", "-r", "ann", "--db", db)
    assert "screening: 4 records await ann" in first
    assert "not ranked yet" in first  # no include and exclude yet: seeded random order
    for record in ("1.1", "1.2", "2.2"):
        assert "awaiting title/abstract screening" in decide(db, record, "include", "ann")
    decide(db, "1.3", "exclude", "ann")
    # Blind: bob sees all four, unranked (ann's verdicts are not his to learn from), and there is
    # no conflict to show before he decides.
    bob = ok("screen", "next", "-r", "bob", "--db", db)
    assert "4 records await bob" in bob and "not ranked yet" in bob
    assert ok("screen", "conflicts", "--db", db) == "no conflicts\n"
    decide(db, "1.1", "include", "bob")
    decide(db, "2.2", "maybe", "bob")
    decide(db, "1.2", "exclude", "bob")
    assert "excluded at title/abstract" in decide(db, "1.3", "exclude", "bob")
    conflicts = ok("screen", "conflicts", "--db", db)
    assert conflicts.splitlines() == [
        "1.2 at screening: Brown 2020. Ketamine and reward processing in the striatum.",
        "   ann: include",
        "   bob: exclude",
    ]
    assert "settle it with --resolve" in refused(
        "screen", "decide", "1.2", "include", "-r", "ann", "--db", db
    )
    assert "awaiting retrieval" in decide(db, "1.2", "include", "cat", "--resolve")
    assert "not retrieved" in decide(db, "1.2", "exclude", "ann", "--stage", "retrieval")
    decide(db, "1.1", "include", "ann", "--stage", "eligibility")
    made = decide(db, "1.1", "include", "bob")
    assert "study smith2019 added to the store for extraction" in made
    decide(db, "2.2", "exclude", "ann", "--stage", "eligibility", "--reason", "Wrong drug")
    decide(db, "2.2", "exclude", "bob", "--stage", "eligibility", "--reason", "wrong drug")
    with Repository(db) as repository:
        (study,) = repository.list_studies()
    assert (study.id, study.record_id, study.year, study.doi, study.pmid) == (
        "smith2019",
        "1.1",
        2019,
        "10.1016/j.biopsych.2019.01.001",
        "30000001",
    )
    assert study.authors == ["Smith, John", "Doe, Ann"]
    assert study.provenance["title"] == "screening record 1.1 (PubMed, pubmed.nbib:1)"
    assert study.population.value == "unknown" and study.analyses == []

    out = tmp_path / "prisma"
    shown = ok("screen", "prisma", "--out", out, "--db", db)
    assert "screening: 3/4 records agreed; Fleiss' kappa 0.47" in shown
    assert "ann / bob: Cohen's kappa 0.50 over 4 records" in shown
    assert "studies included: 1 (from 1 reports)" in shown
    numbers = svg_numbers((out / "prisma.svg").read_text(encoding="utf-8"))
    assert numbers["databases.identified"] == [5, 2, 3, 0]  # Embase 2, PubMed 3, no registers
    assert numbers["databases.identified.out"] == [1, 0, 0]
    assert numbers["databases.screened"] == [4]
    assert numbers["databases.screened.out"] == [1]
    assert numbers["databases.sought"] == [3]
    assert numbers["databases.sought.out"] == [1]
    assert numbers["databases.assessed"] == [2]
    assert numbers["databases.assessed.out"] == [1, 1]
    assert numbers["included"] == [1, 1]
    counts = json.loads((out / "prisma.json").read_text())
    assert counts["databases"]["excluded_full_text"] == {"wrong drug": 1}
    assert (out / "prisma.png").read_bytes()[:4] == b"\x89PNG"
    assert "already exists" in refused("screen", "prisma", "--out", out, "--db", db)


def svg_numbers(svg: str) -> dict[str, list[int]]:
    root = ET.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    out = {}
    for group in root.findall("s:g", ns):
        if group.get("data-box"):
            text = " ".join(t.text for t in group.findall("s:text", ns))
            out[group.get("data-box")] = [int(n) for n in re.findall(r"\(n = (\d+)\)", text)]
    return out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("2.1", "include", "-r", "ann"), "record 2.1 is a duplicate of 1.1; decide on that one"),
        (("9.9", "include", "-r", "ann"), "no record '9.9'"),
        (("1.1", "perhaps", "-r", "ann"), "verdict: unknown verdict 'perhaps'"),
        (("1.1", "include", "-r", "ann", "--stage", "later"), "--stage: unknown stage 'later'"),
        (
            ("1.1", "include", "-r", "ann", "--stage", "eligibility"),
            "waits at screening, not eligibility",
        ),
        (("1.1", "include", "-r", "ann", "--resolve"), "has no conflict to resolve"),
    ],
)
def test_decide_refuses_with_one_line(db, args, message):
    output = refused("screen", "decide", *args, "--db", db)
    assert message in output and output.startswith("error: ") and output.count("\n") == 1


def test_full_text_exclusions_need_a_listed_reason(db):
    decide(db, "1.1", "include", "ann")
    decide(db, "1.1", "include", "bob")
    args = ("screen", "decide", "1.1", "exclude", "-r", "ann", "--stage", "eligibility")
    assert "needs --reason, one of: wrong drug; no imaging" in refused(*args, "--db", db)
    assert "'bad vibes' is not one of" in refused(*args, "--reason", "bad vibes", "--db", db)
    assert "'maybe' is for title/abstract" in refused(
        "screen", "decide", "1.1", "maybe", "-r", "ann", "--stage", "eligibility", "--db", db
    )


def test_records_from_other_methods_skip_screening(db, tmp_path):
    cited = tmp_path / "citations.csv"
    cited.write_text("title,year,doi\nKetamine and the insula,2022,10.1/insula\n", encoding="utf-8")
    assert "batch 3: 1 records" in ok("screen", "import", cited, "--origin", "citation", "--db", db)
    assert "comes from other methods" in refused(
        "screen", "decide", "3.1", "include", "-r", "ann", "--stage", "screening", "--db", db
    )
    assert "awaiting full-text assessment" in decide(
        db, "3.1", "include", "ann", "--stage", "retrieval"
    )


def test_duplicates_decided_by_hand_and_undone(db):
    assert "2.1 is its own record again (was merged into 1.1)" in ok(
        "screen", "dedup", "--undo", "2.1", "-r", "ann", "--db", db
    )
    # Undoing declared the pair distinct: dedup does not merge it again.
    assert "0 duplicates merged" in ok("screen", "dedup", "--db", db)
    assert "merged 2.1 into 1.1" in ok("screen", "dedup", "--same", "2.1", "1.1", "--db", db)
    with Repository(db) as repository:
        merges = repository.list_merges()
    assert [(m.duplicate, m.kept, m.undone is None) for m in merges] == [
        ("2.1", "1.1", False),
        ("2.1", "1.1", True),
    ]
    assert "is already a duplicate of '1.1'" in refused(
        "screen", "dedup", "--same", "2.1", "1.2", "--db", db
    )


def test_settings_refuse_nonsense(db):
    assert "write it as STAGE=N" in refused(
        "screen", "settings", "--reviewers", "screening", "--db", db
    )
    assert "at least one reviewer" in refused(
        "screen", "settings", "--reviewers", "screening=0", "--db", db
    )
    shown = ok("screen", "settings", "--reviewers", "eligibility=3", "--db", db)
    assert "eligibility: 3 reviewers per record" in shown and "screening: 2 reviewers" in shown


def test_simulate_on_a_labelled_set(tmp_path):
    lines = []
    for i in range(60):
        relevant = i % 6 == 0
        title = f"Ketamine fMRI study {i}" if relevant else f"Cardiology trial number {i}"
        labels = ["include"] if relevant else []
        lines.append(json.dumps({"title": title, "abstract": title, "labels": labels}))
    labelled = tmp_path / "set.jsonl"
    labelled.write_text("\n".join(lines) + "\n", encoding="utf-8")
    shown = ok("screen", "simulate", labelled, "--label", "include", "--seeds", "2")
    assert "set.jsonl: 10 of 60 records labelled 'include'" in shown
    rows = [line.split() for line in shown.splitlines() if re.match(r"^│ [01] ", line)]
    assert len(rows) == 2
    missing = refused("screen", "simulate", labelled, "--label", "absent")
    assert "no record carries the label 'absent'; labels: include" in missing


def one_reviewer(db: str) -> None:
    ok(
        "screen",
        "settings",
        "--reviewers",
        "screening=1",
        "--reviewers",
        "eligibility=1",
        "--db",
        db,
    )


def test_next_ranks_once_an_include_and_an_exclude_are_settled(db):
    one_reviewer(db)
    decide(db, "1.1", "include", "ann")
    decide(db, "1.3", "exclude", "ann")
    shown = ok("screen", "next", "-r", "ann", "--db", db)
    assert "screening: 2 records await ann; 2 decided by ann so far" in shown
    assert "stopping aid: 1 decisions since the last include, estimated recall" in shown
    listed = [line.split(" ")[0] for line in shown.splitlines() if re.match(r"^\d\.\d \(", line)]
    assert sorted(listed) == ["1.2", "2.2"]


def test_a_run_on_a_screened_store_shows_its_flow_and_traces_its_studies(db, tmp_path):
    one_reviewer(db)
    decide(db, "1.1", "include", "ann")
    decide(db, "1.1", "include", "ann", "--stage", "eligibility")
    for record in ("1.2", "1.3", "2.2"):
        decide(db, record, "exclude", "ann")
    out = tmp_path / "run"
    shown = ok("run", "--db", db, "--out", out, "--iterations", "10")
    assert "screening/" in shown
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'aria-label="PRISMA 2020 flow diagram"' in html
    assert "Studies included in review (n = 1)" in html
    trace = re.search(r'<table id="screening-trace".*?</table>', html, re.S).group(0)
    assert (
        "smith2019" in trace and "pubmed.nbib:1" in trace and "2.1 (Embase, embase.ris:1)" in trace
    )
    assert "1 study was included" in html
    studies = (out / "screening" / "studies.tsv").read_text(encoding="utf-8").splitlines()
    assert studies[1].split("\t")[:3] == ["smith2019", "1.1", "PubMed"]
    records = (out / "screening" / "records.tsv").read_text(encoding="utf-8")
    assert "2.1\tEmbase\tdatabase\t2026-11-02\tembase.ris\tembase.ris:1" in records


def test_an_import_interrupted_after_its_rows_are_sent_leaves_nothing(db, tmp_path, monkeypatch):
    from neuroreview.store.repository import Repository as Store

    original = Store._insert_records

    def insert_then_interrupt(self, connection, records, source):
        original(self, connection, records, source)
        raise KeyboardInterrupt

    monkeypatch.setattr(Store, "_insert_records", insert_then_interrupt)
    extra = tmp_path / "more.csv"
    extra.write_text("title,year\nKetamine and the insula,2022\n", encoding="utf-8")
    result = invoke("screen", "import", extra, "--source", "Scopus", "--db", db)
    assert result.exit_code == 130
    with Repository(db) as repository:
        assert [b.id for b in repository.list_batches()] == ["1", "2"]
        assert len(repository.list_records()) == 5


def test_records_removed_before_screening_by_automation_or_another_reason(db, tmp_path):
    removal = ("--stage", "identification")
    assert "removed by automation" in decide(
        db, "1.3", "exclude", "bot", *removal, "--reason", "automation"
    )
    assert "removed for other reasons" in decide(
        db, "1.2", "exclude", "ann", *removal, "--reason", "retracted"
    )
    assert "can only be removed" in refused(
        "screen", "decide", "2.2", "include", "-r", "ann", *removal, "--db", db
    )
    decide(db, "2.2", "include", "ann")
    assert "has been screened already" in refused(
        "screen", "decide", "2.2", "exclude", "-r", "ann", *removal, "--reason", "x", "--db", db
    )
    ok("screen", "prisma", "--out", tmp_path / "p", "--db", db)
    numbers = svg_numbers((tmp_path / "p" / "prisma.svg").read_text(encoding="utf-8"))
    assert numbers["databases.identified.out"] == [1, 1, 1]
    assert numbers["databases.screened"] == [2, 2]
