"""The Repository: round trips, filters, one transaction per import, schema versioning."""

from __future__ import annotations

import os
import sqlite3

import pytest

from neuroreview.errors import InputError, NeuroreviewError
from neuroreview.model import Analysis, Decision, EffectSize, Focus, Record, RegionFinding, Study
from neuroreview.store import SCHEMA_VERSION, CorpusCounts, Repository, StudyFilter, database_url


def make_study(study_id: str, **fields) -> Study:
    defaults = dict(
        authors=["Abdallah CG", "Krystal JH"],
        year=2017,
        population="mdd",
        modality="fmri_rest",
        timing="hours",
        exposure="single_dose",
        provenance={"foci": "table 2"},
        analyses=[
            Analysis(
                id="ket>pla",
                name="ketamine > placebo",
                direction="increase",
                n_subjects=18,
                space="TAL",
                foci=[
                    Focus(x=2, y=24, z=-8, stat_kind="z", stat_value=4.2),
                    Focus(x=-24, y=-4, z=-18),
                ],
            ),
            Analysis(
                id="ket<pla", direction="decrease", space="MNI", foci=[Focus(x=0, y=-52, z=26)]
            ),
        ],
        region_findings=[
            RegionFinding(
                region="sgACC",
                region_raw="subgenual anterior cingulate",
                direction="decrease",
                measure="connectivity",
                effect_size=EffectSize(kind="hedges_g", value=-0.61, variance=0.09, n=18),
            ),
            RegionFinding(region="ventral striatum", direction="increase", measure="bold"),
        ],
    )
    defaults.update(fields)
    return Study(id=study_id, **defaults)


POSTGRES_URL = os.environ.get("NEUROREVIEW_TEST_POSTGRES_URL")


def _empty_postgres() -> str:
    """The test PostgreSQL database with every table dropped, so each test starts clean."""
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL server: set NEUROREVIEW_TEST_POSTGRES_URL (.ci/run does)")
    from sqlalchemy import create_engine

    from neuroreview.store import schema

    engine = create_engine(POSTGRES_URL)
    schema.metadata.drop_all(engine)
    engine.dispose()
    return POSTGRES_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def repo(request, tmp_path):
    target = tmp_path / "store.db" if request.param == "sqlite" else _empty_postgres()
    with Repository(target) as repository:
        yield repository


def test_round_trip_keeps_every_value(repo):
    studies = [make_study("A 2017"), make_study("B 2015", year=2015, population="healthy")]
    assert repo.add_studies(studies) == 2
    assert repo.list_studies() == studies
    assert repo.get_study("B 2015") == studies[1]
    assert repo.counts() == CorpusCounts(studies=2, analyses=4, foci=6, region_findings=4)


def test_filters(repo):
    repo.add_studies(
        [
            make_study("mdd-tal", year=2017),
            make_study(
                "hv-mni",
                year=2012,
                population="healthy",
                modality="pet",
                analyses=[
                    Analysis(id="a", space="MNI", direction="decrease", foci=[Focus(x=1, y=1, z=1)])
                ],
                region_findings=[],
            ),
            make_study(
                "hv-regions",
                year=2010,
                population="healthy",
                analyses=[],
                region_findings=[RegionFinding(region="amygdala", direction="no_change")],
            ),
        ]
    )
    assert repo.study_ids(StudyFilter.of(population="healthy")) == ["hv-mni", "hv-regions"]
    assert repo.study_ids(StudyFilter.of(modality="PET")) == ["hv-mni"]
    assert repo.study_ids(StudyFilter.of(space="Talairach")) == ["mdd-tal"]
    assert repo.study_ids(StudyFilter.of(direction="increase")) == ["mdd-tal"]
    assert repo.study_ids(StudyFilter.of(direction="no change")) == ["hv-regions"]
    assert repo.study_ids(StudyFilter.of(year_min=2011, year_max=2013)) == ["hv-mni"]
    assert repo.study_ids(StudyFilter.of(population="healthy", direction="decrease")) == ["hv-mni"]
    assert [s.id for s in repo.list_studies(StudyFilter.of(year_min=2016))] == ["mdd-tal"]


def test_bad_filter_value_is_an_input_error():
    with pytest.raises(InputError, match="unknown population 'aliens'"):
        StudyFilter.of(population="aliens")


def test_import_is_one_transaction(repo):
    repo.add_study(make_study("kept"))
    before = repo.counts()
    batch = [make_study("new-1"), make_study("new-2"), make_study("kept")]
    with pytest.raises(
        InputError, match=r"^batch.csv: study 'kept' is already in the store \(use --replace\)$"
    ):
        repo.add_studies(batch, source="batch.csv")
    assert repo.counts() == before
    assert repo.study_ids() == ["kept"]


def test_duplicate_in_input_names_the_study(repo):
    with pytest.raises(InputError, match=r"^x.json: study 'dup' appears twice in the input"):
        repo.add_studies([make_study("dup"), make_study("dup")], source="x.json")
    assert repo.counts().studies == 0


def test_replace_swaps_the_whole_study(repo):
    repo.add_study(make_study("s"))
    replacement = make_study("s", year=2019, region_findings=[])
    repo.add_study(replacement, replace=True)
    assert repo.get_study("s") == replacement
    assert repo.counts().region_findings == 0


def test_delete_cascades(repo):
    repo.add_studies([make_study("a"), make_study("b")])
    repo.delete_study("a")
    assert repo.counts() == CorpusCounts(studies=1, analyses=2, foci=3, region_findings=2)
    with pytest.raises(NeuroreviewError, match="no study 'a'"):
        repo.get_study("a")


def test_records_and_decisions_round_trip(repo):
    record = Record(
        id="pmid:1",
        source="pubmed",
        title="Ketamine and the sgACC",
        authors=["A B"],
        year=2016,
        keywords=["ketamine"],
        decisions=[
            Decision(stage="screening", verdict="include", reviewer="r1"),
            Decision(stage="eligibility", verdict="exclude", reason="no imaging", reviewer="r2"),
        ],
    )
    repo.add_records([record])
    assert repo.list_records() == [record]
    assert repo.counts().records == 1


def test_screening_batches_merges_candidates_and_decisions_round_trip(repo):
    from datetime import date

    from neuroreview.model import ImportBatch, Merge

    batch = ImportBatch(
        id="1",
        file="pubmed.nbib",
        sha256="ab" * 32,
        format="medline",
        source="PubMed",
        search_date=date(2026, 11, 1),
        n_records=2,
    )
    records = [
        Record(
            id=f"1.{n}",
            source="PubMed",
            origin="database",
            search_date=date(2026, 11, 1),
            batch="1",
            location=f"pubmed.nbib:{n}",
            kind="Journal Article",
            title=f"Paper {n}",
        )
        for n in (1, 2)
    ]
    repo.add_import(batch, records)
    assert repo.list_batches() == [batch]
    assert repo.list_records() == records
    merge = Merge(duplicate="1.2", kept="1.1", evidence="same DOI 10.1/x", score=1.0)
    repo.merge_records([merge])
    assert repo.list_merges() == [merge]
    assert [r.duplicate_of for r in repo.list_records()] == [None, "1.1"]
    with pytest.raises(NeuroreviewError, match="already a duplicate of '1.1'"):
        repo.merge_records([Merge(duplicate="1.2", kept="1.1", evidence="again", score=1.0)])
    undone = repo.undo_merge("1.2", by="ann")
    assert undone.duplicate == "1.2" and repo.list_merges()[0].undone is not None
    assert [c["status"] for c in repo.list_candidates()] == ["distinct"]
    assert repo.add_candidates([("1.1", "1.2", 0.9, "titles alike")]) == 0  # already known
    decision = Decision(stage="screening", verdict="include", reviewer="ann", role="resolution")
    study = Study(id="paper1", title="Paper 1", record_id="1.1")
    repo.add_decision("1.1", decision, study=study)
    assert repo.list_records()[0].decisions == [decision]
    assert repo.record_studies() == {"1.1": "paper1"}
    assert repo.get_study("paper1").record_id == "1.1"
    repo.set_screening_settings({"reasons": ["wrong drug"], "reviewers": {"screening": 3}})
    assert repo.screening_settings() == {"reasons": ["wrong drug"], "reviewers": {"screening": 3}}


def test_schema_version_is_recorded_and_checked(tmp_path):
    path = tmp_path / "s.db"
    with Repository(path) as repository:
        assert repository.schema_version == SCHEMA_VERSION
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE schema_version SET version = 999")
    with pytest.raises(NeuroreviewError, match="schema version 999"):
        Repository(path)


def test_foreign_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE t (a int)")
    with pytest.raises(NeuroreviewError, match=f"^{path}: not a neuroreview store$"):
        Repository(path)


def test_urls(tmp_path):
    assert database_url("neuroreview.db") == "sqlite:///neuroreview.db"
    url = f"sqlite:///{tmp_path / 'u.db'}"
    assert database_url(url) == url
    with Repository(url) as repository:
        repository.add_study(make_study("u"))
        assert repository.study_ids() == ["u"]
    with pytest.raises(NeuroreviewError, match="cannot open database"):
        Repository("nosuchdialect://host/db")


def test_missing_driver_names_the_extra(monkeypatch):
    import sqlalchemy.dialects.postgresql.psycopg as dialect

    def no_driver(*_args, **_kwargs):
        raise ModuleNotFoundError("No module named 'psycopg'")

    monkeypatch.setattr(dialect.PGDialect_psycopg, "import_dbapi", classmethod(no_driver))
    with pytest.raises(NeuroreviewError, match=r"pip install 'neuroreview\[postgres\]'"):
        Repository("postgresql+psycopg://user@localhost/db")


def test_large_replace_crosses_the_in_list_chunks(repo):
    # 1,200 ids exceed one 500-id IN (...) slice: existence checks and deletes go in chunks.
    studies = [Study(id=f"s{i:04d}", analyses=[], region_findings=[]) for i in range(1200)]
    repo.add_studies(studies)
    with pytest.raises(
        InputError, match=r"^studies 's0000', 's0001', .* and 1195 more are already in the store"
    ):
        repo.add_studies(studies)
    replaced = [s.model_copy(update={"year": 2001}) for s in studies]
    repo.add_studies(replaced, replace=True)
    assert repo.counts().studies == 1200
    assert {s.year for s in repo.list_studies()} == {2001}


def test_record_already_stored_is_refused_whole(repo):
    repo.add_records([Record(id="r1")])
    with pytest.raises(InputError, match=r"^in.ris: record 'r1' already in the store"):
        repo.add_records([Record(id="r2"), Record(id="r1")], source="in.ris")
    with pytest.raises(InputError, match="record 'r3' appears twice"):
        repo.add_records([Record(id="r3"), Record(id="r3")])
    assert [r.id for r in repo.list_records()] == ["r1"]
