"""The audit trail of study edits: who changed what, before and after, and undo that never
overwrites later work. On SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from neuroreview.errors import NeuroreviewError
from neuroreview.pipeline import changes
from neuroreview.pipeline.corpus import builtin_studies
from neuroreview.store import Repository
from test_web_api import _empty_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """A store holding three built-in studies, in corpus order."""
    url = str(tmp_path / "corpus.db") if request.param == "sqlite" else _empty_postgres()
    studies = {s.id: s for s in builtin_studies()}
    with Repository(url) as repository:
        repository.add_studies(
            [studies[i] for i in ("abdallah2015", "abdallah2017", "anticevic2012")]
        )
    yield url
    if request.param == "postgresql":
        _empty_postgres()


def _moved_focus(study):
    """abdallah2017 with its first focus moved 2 mm up (a typical correction)."""
    analysis = study.analyses[0]
    focus = analysis.foci[0].model_copy(update={"z": analysis.foci[0].z + 2})
    edited = analysis.model_copy(update={"foci": [focus, *analysis.foci[1:]]})
    return study.model_copy(update={"analyses": [edited, *study.analyses[1:]]})


def test_an_edit_is_recorded_before_and_after_and_keeps_the_study_in_place(store):
    with Repository(store) as repository:
        before = repository.get_study("abdallah2017")
    edited = _moved_focus(before)
    change = changes.save_study(store, edited, "ann")
    assert change is not None
    assert (change.editor, change.action, change.entity_id) == ("ann", "update", "abdallah2017")
    assert change.before == before.model_dump(mode="json")
    assert change.after == edited.model_dump(mode="json")
    n_foci = sum(len(a.foci) for a in before.analyses)
    assert change.summary == (
        f"analyses edited ({len(before.analyses)} analyses, {n_foci} foci, "
        f"{len(before.region_findings)} region findings -> {len(before.analyses)} analyses, "
        f"{n_foci} foci, {len(before.region_findings)} region findings)"
    )
    with Repository(store) as repository:
        assert repository.get_study("abdallah2017") == edited
        # Edited in place: the corpus order (which every table follows) is unchanged.
        assert repository.study_ids() == ["abdallah2015", "abdallah2017", "anticevic2012"]
    # Saving the same study again records nothing.
    assert changes.save_study(store, edited, "ann") is None
    listed, total = changes.list_changes(store)
    assert total == 1 and [c.id for c in listed] == [change.id]


def test_undo_restores_before_and_is_itself_undoable(store):
    with Repository(store) as repository:
        before = repository.get_study("abdallah2017")
    change = changes.save_study(store, _moved_focus(before), "ann")
    with pytest.raises(NeuroreviewError) as refused:
        changes.undo_change(store, change.id, "bob")
    assert str(refused.value) == (
        f"change {change.id} was made by ann; only they or a project owner can undo it"
    )
    undo = changes.undo_change(store, change.id, "olga", allow_others=True)
    assert (undo.action, undo.undoes, undo.editor) == ("undo", change.id, "olga")
    assert undo.summary.startswith(f"undid change {change.id} (analyses edited")
    with Repository(store) as repository:
        assert repository.get_study("abdallah2017") == before
    listed, total = changes.list_changes(store, entity_id="abdallah2017")
    assert total == 2
    assert [(c.id, c.undone_by) for c in listed] == [(undo.id, None), (change.id, undo.id)]
    with pytest.raises(NeuroreviewError, match=rf"change {change.id} was undone already"):
        changes.undo_change(store, change.id, "ann")
    # Undoing the undo redoes the edit.
    changes.undo_change(store, undo.id, "ann", allow_others=True)
    with Repository(store) as repository:
        assert repository.get_study("abdallah2017") == _moved_focus(before)


def test_undo_never_overwrites_a_later_edit(store):
    with Repository(store) as repository:
        before = repository.get_study("abdallah2017")
    first = changes.save_study(store, _moved_focus(before), "ann")
    later = _moved_focus(before).model_copy(update={"notes": "checked against table 2"})
    second = changes.save_study(store, later, "bob")
    with pytest.raises(NeuroreviewError) as refused:
        changes.undo_change(store, first.id, "ann")
    message = str(refused.value)
    assert message.startswith("study 'abdallah2017' has changed since it was read (last changed ")
    assert "by bob at " in message and f"change {second.id})" in message
    with Repository(store) as repository:
        assert repository.get_study("abdallah2017") == later
    assert changes.list_changes(store)[1] == 2


def test_delete_and_create_are_recorded_and_undone(store):
    with Repository(store) as repository:
        gone = repository.get_study("anticevic2012")
    deleted = changes.delete_study(store, "anticevic2012", "olga")
    assert deleted.action == "delete" and deleted.after is None
    assert deleted.summary.startswith("deleted (")
    with Repository(store) as repository:
        assert repository.study_ids() == ["abdallah2015", "abdallah2017"]
    changes.undo_change(store, deleted.id, "olga")
    with Repository(store) as repository:
        assert repository.get_study("anticevic2012") == gone
    fresh = gone.model_copy(update={"id": "anticevic2012-b"})
    created = changes.save_study(store, fresh, "ann", create=True)
    assert created.action == "create" and created.before is None
    with pytest.raises(NeuroreviewError, match="study 'anticevic2012-b' exists already"):
        changes.save_study(store, fresh, "ann", create=True)
    changes.undo_change(store, created.id, "ann")
    with Repository(store) as repository:
        assert "anticevic2012-b" not in repository.study_ids()


def test_refusals_name_the_study_or_change(store):
    ghost = builtin_studies()[5].model_copy(update={"id": "nobody1999"})
    with pytest.raises(NeuroreviewError, match="no study 'nobody1999'"):
        changes.save_study(store, ghost, "ann")
    with pytest.raises(NeuroreviewError, match="no study 'nobody1999'"):
        changes.delete_study(store, "nobody1999", "ann")
    with pytest.raises(NeuroreviewError, match="no change 99 in"):
        changes.undo_change(store, 99, "ann")


def test_a_stale_write_is_refused_in_the_transaction(store):
    """Two editors read the same study; the second write expects what it read and is refused."""
    with Repository(store) as repository:
        read = repository.get_study("abdallah2017").model_dump(mode="json")
        changes.save_study(store, _moved_focus(repository.get_study("abdallah2017")), "ann")
        with pytest.raises(NeuroreviewError, match="has changed since it was read"):
            repository.change_study(
                "abdallah2017",
                None,
                expected=read,
                editor="bob",
                action="delete",
                summary="deleted",
            )
        assert "abdallah2017" in repository.study_ids()
