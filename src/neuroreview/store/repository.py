"""The Repository: the one place that talks SQL.

A SQLite file is the embedded default; any SQLAlchemy URL (``postgresql+psycopg://...``) works too.
Every write is one transaction, so an import that fails on its last study leaves the store as it
was before the import began.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Engine,
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    make_url,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from neuroreview import __version__
from neuroreview.errors import InputError, NeuroreviewError
from neuroreview.model import (
    Analysis,
    Decision,
    Direction,
    EffectSize,
    Focus,
    ImportBatch,
    Merge,
    Modality,
    Population,
    Record,
    RegionFinding,
    Space,
    StatKind,
    Study,
    first_repeated,
)
from neuroreview.store import engines, schema
from neuroreview.store.schema import SCHEMA_VERSION

DEFAULT_DATABASE = "neuroreview.db"

#: Seconds a SQLite connection waits for another process's write lock before the store reports
#: "locked" (SQLite's own default is 5 s too); a module setting so that tests can shorten it.
SQLITE_BUSY_TIMEOUT = 5.0

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class StudyFilter:
    """Which studies a query returns; ``None`` means "any". All given conditions must hold.

    ``direction`` and ``space`` match a study when any of its analyses (or, for direction, any of
    its region findings) has that value, since both live below the study.
    """

    population: Population | None = None
    modality: Modality | None = None
    direction: Direction | None = None
    space: Space | None = None
    year_min: int | None = None
    year_max: int | None = None
    study_ids: tuple[str, ...] | None = None

    @classmethod
    def of(cls, **values: Any) -> StudyFilter:
        """Build a filter from loose values ("healthy", "fMRI-rest"), parsing each with its enum."""
        parsers = {
            "population": Population.parse,
            "modality": Modality.parse,
            "direction": Direction.parse,
            "space": Space.parse,
        }
        clean: dict[str, Any] = {}
        for key, value in values.items():
            if value is None:
                continue
            try:
                clean[key] = parsers[key](value) if key in parsers else value
            except ValueError as error:
                raise InputError(str(error)) from None
        if "study_ids" in clean:
            clean["study_ids"] = tuple(clean["study_ids"])
        return cls(**clean)


@dataclass(frozen=True)
class CorpusCounts:
    studies: int
    analyses: int
    foci: int
    region_findings: int
    records: int = 0


def local_store_path(target: str | Path) -> Path | None:
    """The SQLite file ``target`` names, or None when it is a database URL (PostgreSQL...)."""
    text = str(target)
    return None if "://" in text else Path(text).expanduser()


def database_url(target: str | Path) -> str:
    """A SQLAlchemy URL for ``target``: a URL stays as it is, anything else is a SQLite file path."""
    local = local_store_path(target)
    return str(target) if local is None else f"sqlite:///{local}"


def _enable_sqlite_foreign_keys(engine: Engine) -> None:
    # SQLite ignores ON DELETE CASCADE unless told otherwise, per connection.
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names; None for other databases, in-memory and ``file:`` URIs.

    Only a plain file can be checked before connecting: SQLite would create a missing one.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.query.get("uri"):
        return None
    if parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _store_name(url: str) -> str:
    """How messages name a store: the path of a SQLite file, else the URL without its password."""
    sqlite_file = _sqlite_file(url)
    if sqlite_file is not None:
        return str(sqlite_file)
    return make_url(url).render_as_string(hide_password=True)


class StoreBusy(NeuroreviewError):
    """Another writer held the store longer than the busy timeout: worth trying again."""


def _database_error(name: str, error: DBAPIError) -> NeuroreviewError:
    """One line naming the store and what the driver said, without the SQL statement.

    SQLAlchemy's own message spans several lines (the statement, its parameters, a link), which
    tells a researcher nothing; the driver's first line ("database is locked") does.
    """
    code = getattr(error.orig, "sqlite_errorname", None)
    lines = str(error.orig).strip().splitlines()
    reason = lines[0] if lines else type(error.orig).__name__
    if code in ("SQLITE_BUSY", "SQLITE_LOCKED") or reason == "database is locked":
        return StoreBusy(f"{name}: locked by another neuroreview process, try again")
    if code == "SQLITE_NOTADB":
        return NeuroreviewError(f"{name}: not a neuroreview store")
    if code == "SQLITE_CANTOPEN" and not Path(name).parent.is_dir():
        return NeuroreviewError(f"{name}: cannot create the store, its folder does not exist")
    return NeuroreviewError(f"{name}: the store cannot be used ({reason})")


def _store_errors(method: F) -> F:
    """Turn a driver error inside a Repository method into one line naming the store.

    Every public method goes through this, so every command that touches a store reports a
    locked, foreign or broken database the same way, whatever query hit it first.
    """

    @functools.wraps(method)
    def wrapper(self: Repository, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except DBAPIError as error:
            raise _database_error(self.name, error) from error

    return wrapper  # type: ignore[return-value]


class StaleStudy(NeuroreviewError):
    """The study changed since the editor read it: the change is refused, not merged."""

    def __init__(self, study_id: str, last: dict[str, Any] | None) -> None:
        since = (
            f" (last changed by {last['editor']} at {_as_utc(last['time']):%Y-%m-%d %H:%M} UTC,"
            f" change {last['pk']})"
            if last
            else ""
        )
        super().__init__(
            f"study {study_id!r} has changed since it was read{since}; reload it and redo the edit"
        )
        self.study_id = study_id


class Repository:
    """Studies and records in a SQL database, read and written as pydantic models.

    ``create=True`` (the default, for building stores from Python and for ``neuroreview
    import``) makes the schema in a missing file or an empty database. Commands that only read
    pass ``create=False``, so that a typo in ``--db`` is an error instead of a new empty store.
    ``busy_timeout`` (seconds, SQLite only, default :data:`SQLITE_BUSY_TIMEOUT`) is how long to
    wait for another process's write before reporting the store as locked.
    """

    def __init__(
        self,
        target: str | Path = DEFAULT_DATABASE,
        create: bool = True,
        *,
        busy_timeout: float | None = None,
    ):
        self.url = database_url(target)
        try:
            self.name = _store_name(self.url)
            self.engine, self._kept = self._engine(busy_timeout)
        except ImportError as error:
            raise NeuroreviewError(
                f"cannot open database {self.url!r}: its driver is not installed ({error}); "
                "for PostgreSQL: pip install 'neuroreview[postgres]'"
            ) from None
        except (SQLAlchemyError, ValueError) as error:
            raise NeuroreviewError(f"cannot open database {self.url!r}: {error}") from None
        self._check_sqlite_file(create)
        try:
            self._ensure_schema(create)
        except BaseException:
            self.close()
            raise

    def _engine(self, busy_timeout: float | None) -> tuple[Engine, bool]:
        """A new engine, or the one a server keeps for this store (``store.engines``)."""

        def make() -> Engine:
            engine = create_engine(self.url, **_engine_options(self.url, busy_timeout))
            _enable_sqlite_foreign_keys(engine)
            return engine

        if busy_timeout is not None:
            return make(), False
        return engines.borrow(self.url, make)

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        if not self._kept:
            self.engine.dispose()

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _check_sqlite_file(self, create: bool) -> None:
        """Refuse a folder, and a missing file unless creating, before SQLite touches the disk."""
        path = _sqlite_file(self.url)
        if path is None:
            return
        if path.is_dir():
            raise NeuroreviewError(f"{self.name}: is a folder, not a neuroreview store")
        if not create and not path.exists():
            raise self._no_store()

    def _no_store(self) -> NeuroreviewError:
        return NeuroreviewError(
            f"no store at {self.name}; create one with `neuroreview import FILE --db {self.name}`"
        )

    @_store_errors
    def _ensure_schema(self, create: bool) -> None:
        """Make the schema in a database without tables (if creating), else check it is ours."""
        tables = set(inspect(self.engine).get_table_names())
        if not tables and not create:
            raise self._no_store()
        if not tables:
            with self.engine.begin() as connection:
                schema.metadata.create_all(connection)
                connection.execute(
                    insert(schema.schema_version).values(
                        version=SCHEMA_VERSION, software=__version__, created=datetime.now(UTC)
                    )
                )
            return
        if "schema_version" not in tables:
            raise NeuroreviewError(f"{self.name}: not a neuroreview store")
        with self.engine.connect() as connection:
            found = connection.execute(select(func.max(schema.schema_version.c.version))).scalar()
        if isinstance(found, int) and found < SCHEMA_VERSION and _upgradable(found):
            self._upgrade(found)
            return
        if found != SCHEMA_VERSION:
            raise NeuroreviewError(
                f"{self.url} has store schema version {found}, this neuroreview reads version "
                f"{SCHEMA_VERSION}; export it with the neuroreview that wrote it and import again"
            )

    def _upgrade(self, found: int) -> None:
        """Add the columns later versions define, in one transaction: a failed upgrade leaves
        the store as it was. New columns take the value the older version implied."""
        with self.engine.begin() as connection:
            for version in range(found + 1, SCHEMA_VERSION + 1):
                for table, column in schema.UPGRADES[version]:
                    connection.execute(text(f"ALTER TABLE {table} ADD COLUMN {column}"))
            # Tables a later version added (checkfirst: existing ones are left alone).
            schema.metadata.create_all(connection)
            connection.execute(
                insert(schema.schema_version).values(
                    version=SCHEMA_VERSION, software=__version__, created=datetime.now(UTC)
                )
            )

    @property
    @_store_errors
    def schema_version(self) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(select(func.max(schema.schema_version.c.version))).scalar()
            )

    # -- writing ----------------------------------------------------------------------------
    def add_study(self, study: Study, *, replace: bool = False) -> None:
        self.add_studies([study], replace=replace)

    @_store_errors
    def add_studies(
        self, studies: Sequence[Study], *, replace: bool = False, source: str | None = None
    ) -> int:
        """Insert studies in one transaction; return how many were written.

        A study id already in the store (or twice in ``studies``) is an error unless ``replace``,
        in which case the stored study is swapped for the new one, whole.
        """
        _refuse_duplicate_ids(studies, source)
        ids = [s.id for s in studies]
        with self.engine.begin() as connection:
            existing = _existing_ids(connection, schema.studies.c.study_id, ids)
            if existing and not replace:
                raise InputError(_already_stored(existing), source)
            for chunk in _chunks(sorted(existing)):
                connection.execute(
                    delete(schema.studies).where(schema.studies.c.study_id.in_(chunk))
                )
            _insert_studies(connection, studies)
        return len(studies)

    @_store_errors
    def delete_study(self, study_id: str) -> None:
        with self.engine.begin() as connection:
            deleted = connection.execute(
                delete(schema.studies).where(schema.studies.c.study_id == study_id)
            ).rowcount
        if not deleted:
            raise NeuroreviewError(f"no study {study_id!r} in {self.url}")

    @_store_errors
    def change_study(
        self,
        study_id: str,
        new: Study | None,
        *,
        expected: dict[str, Any] | None,
        editor: str,
        action: str,
        summary: str,
        undoes: int | None = None,
    ) -> dict[str, Any]:
        """Make study ``study_id`` equal ``new`` (None: delete it) and record the change, in one
        transaction, only if the stored study (as JSON; None: absent) still equals
        ``expected``: two people editing the same study cannot overwrite each other unseen.

        An edited study keeps its row, and so its place in the corpus's order; only its
        analyses, foci and findings are rewritten. ``undoes`` names the change this one undoes,
        which must not have been undone already. Returns the change as a row mapping.
        """
        s = schema.studies
        with self.engine.begin() as connection:
            found = connection.execute(
                select(s.c.pk).where(s.c.study_id == study_id).with_for_update()
            ).scalar()
            current = None
            if found is not None:
                loaded = _load_studies(connection, StudyFilter(study_ids=(study_id,)))
                current = loaded[0].model_dump(mode="json")
            if current != expected:
                raise StaleStudy(study_id, self._last_editor(connection, study_id))
            # (A change it undoes is checked, and marked, with the new row: any refusal there
            # rolls the edit back with it.)
            if new is None:
                connection.execute(delete(s).where(s.c.pk == found))
            elif found is None:
                _insert_studies(connection, [new])
            else:
                connection.execute(update(s).where(s.c.pk == found).values(**_study_row(new)))
                connection.execute(
                    delete(schema.analyses).where(schema.analyses.c.study_pk == found)
                )
                connection.execute(
                    delete(schema.region_findings).where(schema.region_findings.c.study_pk == found)
                )
                _insert_contents(connection, [found], [new])
            after = new.model_dump(mode="json") if new is not None else None
            return _insert_change(
                connection, "study", study_id, editor, action, summary, current, after, undoes
            )

    @staticmethod
    def _last_editor(connection, study_id: str) -> dict[str, Any] | None:
        c = schema.changes
        row = connection.execute(
            select(c).where(c.c.entity_id == study_id).order_by(c.c.pk.desc()).limit(1)
        ).first()
        return dict(row._mapping) if row is not None else None

    @_store_errors
    def study_changes(
        self, entity_id: str | None = None, *, offset: int = 0, limit: int = 100
    ) -> tuple[list[dict[str, Any]], int]:
        """Recorded changes, newest first, and how many match."""
        c = schema.changes
        where = [c.c.entity_id == entity_id] if entity_id is not None else []
        with self.engine.connect() as connection:
            total = connection.execute(select(func.count()).select_from(c).where(*where)).scalar()
            rows = connection.execute(
                select(c).where(*where).order_by(c.c.pk.desc()).offset(offset).limit(limit)
            ).all()
        return [dict(r._mapping) for r in rows], int(total or 0)

    @_store_errors
    def get_change(self, change_id: int) -> dict[str, Any]:
        c = schema.changes
        with self.engine.connect() as connection:
            row = connection.execute(select(c).where(c.c.pk == change_id)).first()
        if row is None:
            raise NeuroreviewError(f"no change {change_id} in {self.name}")
        return dict(row._mapping)

    @_store_errors
    def add_records(self, records: Sequence[Record], *, source: str | None = None) -> int:
        """Insert citation records (and their decisions) in one transaction."""
        with self.engine.begin() as connection:
            self._insert_records(connection, records, source)
        return len(records)

    # -- screening --------------------------------------------------------------------------
    @_store_errors
    def add_import(self, batch: ImportBatch, records: Sequence[Record]) -> None:
        """Store one imported file and its records together, or neither."""
        with self.engine.begin() as connection:
            row = batch.model_dump(mode="json", exclude={"id", "imported", "search_date"})
            connection.execute(
                insert(schema.import_batches).values(
                    batch_id=batch.id,
                    imported=batch.imported,
                    search_date=batch.search_date,
                    **row,
                )
            )
            self._insert_records(connection, records, batch.file)

    @_store_errors
    def list_batches(self) -> list[ImportBatch]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(schema.import_batches).order_by(schema.import_batches.c.pk)
            ).all()
        return [
            ImportBatch(
                id=r.batch_id,
                file=r.file,
                sha256=r.sha256,
                format=r.format,
                source=r.source,
                origin=r.origin,
                search_date=r.search_date,
                imported=_as_utc(r.imported),
                n_records=r.n_records,
            )
            for r in rows
        ]

    @_store_errors
    def add_decision(self, record_id: str, decision: Decision, study: Study | None = None) -> None:
        """Append one decision to a record's history (decisions are never edited or deleted),
        with the study it makes of an included record, in the same transaction."""
        with self.engine.begin() as connection:
            if study is not None:
                if _existing_ids(connection, schema.studies.c.study_id, [study.id]):
                    raise InputError(_already_stored({study.id}))
                _insert_studies(connection, [study])
            pk = connection.execute(
                select(schema.records.c.pk).where(schema.records.c.record_id == record_id)
            ).scalar()
            if pk is None:
                raise NeuroreviewError(f"no record {record_id!r} in {self.name}")
            position = connection.execute(
                select(func.count())
                .select_from(schema.decisions)
                .where(schema.decisions.c.record_pk == pk)
            ).scalar()
            connection.execute(
                insert(schema.decisions).values(
                    record_pk=pk, position=position, **_decision_row(decision)
                )
            )

    @_store_errors
    def merge_records(
        self, merges: Sequence[Merge], settled: Sequence[tuple[str, str]] = ()
    ) -> None:
        """Mark records as duplicates of kept ones, with the evidence, in one transaction.

        ``settled`` lists candidate pairs these merges answer (their status becomes merged).
        """
        with self.engine.begin() as connection:
            r = schema.records
            for merge in merges:
                found = connection.execute(
                    select(r.c.record_id, r.c.duplicate_of).where(
                        r.c.record_id.in_([merge.duplicate, merge.kept])
                    )
                ).all()
                states = {row.record_id: row.duplicate_of for row in found}
                for record_id in (merge.duplicate, merge.kept):
                    if record_id not in states:
                        raise NeuroreviewError(f"no record {record_id!r} in {self.name}")
                    if states[record_id] is not None:
                        raise NeuroreviewError(
                            f"record {record_id!r} is already a duplicate of "
                            f"{states[record_id]!r}; undo that merge first"
                        )
                connection.execute(
                    r.update()
                    .where(r.c.record_id == merge.duplicate)
                    .values(duplicate_of=merge.kept)
                )
                connection.execute(
                    r.update()
                    .where(r.c.duplicate_of == merge.duplicate)
                    .values(duplicate_of=merge.kept)
                )
                connection.execute(insert(schema.merges).values(**merge.model_dump()))
            for first, second in settled:
                self._settle(
                    connection, first, second, "merged", merges[0].decided_by if merges else None
                )

    @_store_errors
    def undo_merge(self, duplicate: str, by: str) -> Merge:
        """Make a merged record a record of its own again; the merge stays in the history."""
        with self.engine.begin() as connection:
            m = schema.merges
            row = connection.execute(
                select(m)
                .where(m.c.duplicate == duplicate, m.c.undone.is_(None))
                .order_by(m.c.pk.desc())
            ).first()
            if row is None:
                raise NeuroreviewError(f"record {duplicate!r} is not merged into another record")
            now = datetime.now(UTC)
            connection.execute(m.update().where(m.c.pk == row.pk).values(undone=now))
            r = schema.records
            connection.execute(
                r.update().where(r.c.record_id == duplicate).values(duplicate_of=None)
            )
            # Undoing a merge declares the pair distinct, so the next dedup does not redo it.
            self._record_candidate(
                connection, duplicate, row.kept, 1.0, row.evidence, "distinct", by
            )
        return _merge(row)

    @_store_errors
    def list_merges(self) -> list[Merge]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(schema.merges).order_by(schema.merges.c.pk)).all()
        return [_merge(row) for row in rows]

    @_store_errors
    def add_candidates(self, pairs: Sequence[tuple[str, str, float, str]]) -> int:
        """Store uncertain duplicate pairs for a person to decide; pairs already known are kept."""
        added = 0
        with self.engine.begin() as connection:
            for first, second, score, evidence in pairs:
                added += self._record_candidate(
                    connection, first, second, score, evidence, "pending", None
                )
        return added

    @_store_errors
    def list_candidates(self, status: str | None = None) -> list[dict[str, Any]]:
        c = schema.duplicate_candidates
        query = select(c).order_by(c.c.pk)
        if status is not None:
            query = query.where(c.c.status == status)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            {
                "first": row.first,
                "second": row.second,
                "score": row.score,
                "evidence": row.evidence,
                "status": row.status,
                "decided_by": row.decided_by,
            }
            for row in rows
        ]

    @_store_errors
    def mark_distinct(self, first: str, second: str, by: str) -> None:
        with self.engine.begin() as connection:
            self._record_candidate(
                connection, first, second, 0.0, "declared distinct", "distinct", by
            )

    def _settle(self, connection, first: str, second: str, status: str, by: str | None) -> None:
        self._record_candidate(connection, first, second, 0.0, "", status, by)

    @staticmethod
    def _record_candidate(
        connection,
        first: str,
        second: str,
        score: float,
        evidence: str,
        status: str,
        by: str | None,
    ) -> int:
        a, b = sorted((first, second))
        c = schema.duplicate_candidates
        existing = connection.execute(
            select(c.c.pk, c.c.status).where(c.c.first == a, c.c.second == b)
        ).first()
        if existing is None:
            connection.execute(
                insert(c).values(
                    first=a,
                    second=b,
                    score=score,
                    evidence=evidence,
                    status=status,
                    decided_by=by,
                    time=None if status == "pending" else datetime.now(UTC),
                )
            )
            return 1
        if status != "pending":
            connection.execute(
                c.update()
                .where(c.c.pk == existing.pk)
                .values(status=status, decided_by=by, time=datetime.now(UTC))
            )
        return 0

    @_store_errors
    def screening_settings(self) -> dict[str, Any]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(schema.screening_settings)).all()
        return {row.key: row.value for row in rows}

    @_store_errors
    def set_screening_settings(
        self, values: dict[str, Any], *, change: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Store the screening settings; with ``change`` (editor, action, summary, before,
        after, undoes), record it as a change of the screening plan in the same transaction."""
        t = schema.screening_settings
        with self.engine.begin() as connection:
            for key, value in values.items():
                connection.execute(delete(t).where(t.c.key == key))
                connection.execute(insert(t).values(key=key, value=value))
            if change is None:
                return None
            return _insert_change(connection, "screening-plan", "plan", **change)

    @_store_errors
    def record_change(
        self,
        entity: str,
        entity_id: str,
        *,
        editor: str,
        action: str,
        summary: str,
        before: Any,
        after: Any,
        undoes: int | None = None,
    ) -> dict[str, Any]:
        """Record a change made elsewhere (a member's role lives in the server's store)."""
        with self.engine.begin() as connection:
            return _insert_change(
                connection, entity, entity_id, editor, action, summary, before, after, undoes
            )

    @_store_errors
    def record_studies(self) -> dict[str, str]:
        """Included record -> the id of the study made from it."""
        s = schema.studies
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(s.c.record_id, s.c.study_id).where(s.c.record_id.is_not(None))
            ).all()
        return {row.record_id: row.study_id for row in rows}

    def _insert_records(self, connection, records: Sequence[Record], source: str | None) -> None:
        repeated = first_repeated(r.id for r in records)
        if repeated is not None:
            raise InputError(f"record {repeated!r} appears twice", source)
        clash = _existing_ids(connection, schema.records.c.record_id, [r.id for r in records])
        if clash:
            raise InputError(f"record {sorted(clash)[0]!r} already in the store", source)
        rows = [{"record_id": r.id, **r.model_dump(exclude={"id", "decisions"})} for r in records]
        pks = _insert_returning_pks(connection, schema.records, rows)
        decision_rows = [
            {"record_pk": pk, "position": i, **_decision_row(d)}
            for pk, record in zip(pks, records, strict=True)
            for i, d in enumerate(record.decisions)
        ]
        if decision_rows:
            connection.execute(insert(schema.decisions), decision_rows)

    # -- reading ----------------------------------------------------------------------------
    @_store_errors
    def counts(self) -> CorpusCounts:
        with self.engine.connect() as connection:

            def count(table) -> int:
                return int(connection.execute(select(func.count()).select_from(table)).scalar())

            return CorpusCounts(
                studies=count(schema.studies),
                analyses=count(schema.analyses),
                foci=count(schema.foci),
                region_findings=count(schema.region_findings),
                records=count(schema.records),
            )

    @_store_errors
    def study_ids(self, study_filter: StudyFilter | None = None) -> list[str]:
        query = select(schema.studies.c.study_id).where(*_conditions(study_filter))
        with self.engine.connect() as connection:
            return list(connection.execute(query.order_by(schema.studies.c.pk)).scalars())

    def get_study(self, study_id: str) -> Study:
        found = self.list_studies(StudyFilter(study_ids=(study_id,)))
        if not found:
            raise NeuroreviewError(f"no study {study_id!r} in {self.url}")
        return found[0]

    @_store_errors
    def list_studies(self, study_filter: StudyFilter | None = None) -> list[Study]:
        """Studies matching the filter, in the order they were added, with everything below them."""
        with self.engine.connect() as connection:
            return _load_studies(connection, study_filter)

    def export(self) -> list[Study]:
        """Every study in the store, as models, for writing to a file format."""
        return self.list_studies()

    @_store_errors
    def list_records(self) -> list[Record]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(schema.records).order_by(schema.records.c.pk)).all()
            decision_rows = connection.execute(
                select(schema.decisions).order_by(
                    schema.decisions.c.record_pk, schema.decisions.c.position
                )
            ).all()
        by_record: dict[int, list[Decision]] = defaultdict(list)
        for d in decision_rows:
            by_record[d.record_pk].append(
                Decision(
                    stage=d.stage,
                    verdict=d.verdict,
                    reason=d.reason,
                    reviewer=d.reviewer,
                    role=d.role,
                    time=_as_utc(d.time),
                )
            )
        out = []
        for r in rows:
            fields = {c: getattr(r, c) for c in Record.model_fields if c not in {"id", "decisions"}}
            out.append(Record(id=r.record_id, decisions=by_record[r.pk], **fields))
        return out

    def get_record(self, record_id: str) -> Record:
        """One record and its decisions, read without touching the others' rows (deciding on
        one record must not cost a read of the whole search)."""
        found = self.records_by_id([record_id])
        if record_id not in found:
            raise NeuroreviewError(f"no record {record_id!r} in {self.name}")
        return found[record_id]

    @_store_errors
    def records_by_id(self, ids: Sequence[str]) -> dict[str, Record]:
        """The records ``ids`` name, with their decisions in order, by id; ids not in the store
        are left out (the caller says which one is missing, in its own words)."""
        r, d = schema.records, schema.decisions
        rows: list[Any] = []
        decision_rows: list[Any] = []
        with self.engine.connect() as connection:
            for chunk in _chunks(list(dict.fromkeys(ids))):
                found = connection.execute(select(r).where(r.c.record_id.in_(chunk))).all()
                rows.extend(found)
                pks = [row.pk for row in found]
                if pks:
                    decision_rows.extend(
                        connection.execute(
                            select(d).where(d.c.record_pk.in_(pks)).order_by(d.c.position, d.c.pk)
                        ).all()
                    )
        by_record: dict[int, list[Decision]] = defaultdict(list)
        for row in decision_rows:
            by_record[row.record_pk].append(_decision_from_row(row))
        return {row.record_id: _record_from_row(row, by_record[row.pk]) for row in rows}

    @_store_errors
    def record_study(self, record_id: str) -> str | None:
        """The id of the study made from this record, or None while it has none."""
        s = schema.studies
        with self.engine.connect() as connection:
            return connection.execute(
                select(s.c.study_id)
                .where(s.c.record_id == record_id)
                .order_by(s.c.pk.desc())
                .limit(1)
            ).scalar()

    @_store_errors
    def studies_of_records(self, ids: Sequence[str]) -> dict[str, str]:
        """Record -> the id of the study made from it, for the records ``ids`` name only."""
        s = schema.studies
        out: dict[str, str] = {}
        with self.engine.connect() as connection:
            for chunk in _chunks(list(dict.fromkeys(ids))):
                rows = connection.execute(
                    select(s.c.record_id, s.c.study_id)
                    .where(s.c.record_id.in_(chunk))
                    .order_by(s.c.pk)
                ).all()
                out.update({row.record_id: row.study_id for row in rows})
        return out

    # -- dual extraction --------------------------------------------------------------------
    @_store_errors
    def save_extraction(
        self, study_id: str, reviewer: str, data: dict[str, Any], submitted: bool
    ) -> StoredExtraction:
        """Write ``reviewer``'s own extraction of a study (``data``: the Study as JSON), made on
        its first save and submitted when ``submitted``, in one transaction.

        A submitted extraction is refused (:class:`ExtractionConflict`) until reopened, so the
        extraction a colleague compared against is the one that stays stored.
        """
        e = schema.extractions
        now = datetime.now(UTC)
        values = {"data": data, "saved": now, "submitted": now if submitted else None}
        with self.engine.begin() as connection:
            if not _existing_ids(connection, schema.studies.c.study_id, [study_id]):
                raise NeuroreviewError(f"no study {study_id!r} in {self.name}")
            row = connection.execute(
                select(e.c.pk, e.c.submitted)
                .where(e.c.study_id == study_id, e.c.reviewer == reviewer)
                .with_for_update()
            ).first()
            if row is None:
                connection.execute(insert(e).values(study_id=study_id, reviewer=reviewer, **values))
            elif row.submitted is not None:
                raise ExtractionConflict(
                    f"{reviewer}'s extraction of study {study_id!r} is submitted; "
                    "reopen it to edit it"
                )
            else:
                connection.execute(update(e).where(e.c.pk == row.pk).values(**values))
        return StoredExtraction(study_id, reviewer, data, now, values["submitted"])

    @_store_errors
    def extractions(self, study_id: str) -> list[StoredExtraction]:
        """Every reviewer's extraction of a study, drafts included, by reviewer name."""
        e = schema.extractions
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(e).where(e.c.study_id == study_id).order_by(e.c.reviewer)
            ).all()
        return [_extraction(row) for row in rows]

    @_store_errors
    def reopen_extraction(self, study_id: str, reviewer: str) -> StoredExtraction:
        """Make a submitted extraction a draft again, so its reviewer can correct it."""
        e = schema.extractions
        with self.engine.begin() as connection:
            row = connection.execute(
                select(e)
                .where(e.c.study_id == study_id, e.c.reviewer == reviewer)
                .with_for_update()
            ).first()
            if row is None:
                raise ExtractionConflict(f"{reviewer} has no extraction of study {study_id!r}")
            if row.submitted is None:
                raise ExtractionConflict(
                    f"{reviewer}'s extraction of study {study_id!r} is not submitted; "
                    "there is nothing to reopen"
                )
            connection.execute(update(e).where(e.c.pk == row.pk).values(submitted=None))
        return StoredExtraction(study_id, reviewer, row.data, _as_utc(row.saved), None)

    @_store_errors
    def delete_extractions(self, study_id: str) -> int:
        """Remove every extraction of a study; return how many there were."""
        e = schema.extractions
        with self.engine.begin() as connection:
            return connection.execute(delete(e).where(e.c.study_id == study_id)).rowcount


# -- helpers ----------------------------------------------------------------------------------


def _decision_row(decision: Decision) -> dict[str, Any]:
    return {**decision.model_dump(mode="json"), "time": decision.time}


def _decision_from_row(row) -> Decision:
    return Decision(
        stage=row.stage,
        verdict=row.verdict,
        reason=row.reason,
        reviewer=row.reviewer,
        role=row.role,
        time=_as_utc(row.time),
    )


def _record_from_row(row, decisions: list[Decision]) -> Record:
    fields = {c: getattr(row, c) for c in Record.model_fields if c not in {"id", "decisions"}}
    return Record(id=row.record_id, decisions=decisions, **fields)


def _merge(row) -> Merge:
    return Merge(
        duplicate=row.duplicate,
        kept=row.kept,
        evidence=row.evidence,
        score=row.score,
        decided_by=row.decided_by,
        time=_as_utc(row.time),
        undone=_as_utc(row.undone) if row.undone is not None else None,
    )


def _upgradable(found: int) -> bool:
    return all(version in schema.UPGRADES for version in range(found + 1, SCHEMA_VERSION + 1))


def _as_utc(value: datetime) -> datetime:
    # SQLite drops the zone on the way back; everything is stored in UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _engine_options(url: str, busy_timeout: float | None) -> dict[str, Any]:
    """SQLite waits ``busy_timeout`` seconds for a lock; other backends keep their defaults."""
    if make_url(url).get_backend_name() != "sqlite":
        return {}
    timeout = SQLITE_BUSY_TIMEOUT if busy_timeout is None else busy_timeout
    return {"connect_args": {"timeout": timeout}}


def _already_stored(existing: set[str]) -> str:
    """'study 'x' is already in the store (use --replace)', naming at most five ids."""
    shown = ", ".join(repr(i) for i in sorted(existing)[:5])
    more = f" and {len(existing) - 5} more" if len(existing) > 5 else ""
    if len(existing) == 1:
        return f"study {shown} is already in the store (use --replace)"
    return f"studies {shown}{more} are already in the store (use --replace)"


def _refuse_duplicate_ids(studies: Iterable[Study], source: str | None) -> None:
    repeated = first_repeated(s.id for s in studies)
    if repeated is not None:
        raise InputError(f"study {repeated!r} appears twice in the input", source)


def _chunks(items: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    """Slices small enough for an IN (...) list on any backend (SQL parameter limits)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _existing_ids(connection, column, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(ids):
        found.update(connection.execute(select(column).where(column.in_(chunk))).scalars())
    return found


def _insert_change(
    connection,
    entity: str,
    entity_id: str,
    editor: str,
    action: str,
    summary: str,
    before: Any,
    after: Any,
    undoes: int | None = None,
) -> dict[str, Any]:
    """One row of the change history (marking the change it undoes); returns the row."""
    c = schema.changes
    if undoes is not None:
        target = connection.execute(
            select(c.c.undone_by).where(c.c.pk == undoes).with_for_update()
        ).one_or_none()
        if target is None:
            raise NeuroreviewError(f"no change {undoes}")
        if target.undone_by is not None:
            raise NeuroreviewError(
                f"change {undoes} was undone already (by change {target.undone_by})"
            )
    row = {
        "time": datetime.now(UTC),
        "editor": editor,
        "entity": entity,
        "entity_id": entity_id,
        "action": action,
        "summary": summary,
        "before": before,
        "after": after,
        "undoes": undoes,
        "undone_by": None,
    }
    pk = connection.execute(insert(c).returning(c.c.pk), row).scalar_one()
    if undoes is not None:
        connection.execute(update(c).where(c.c.pk == undoes).values(undone_by=pk))
    return {"pk": pk, **row}


def _study_row(study: Study) -> dict[str, Any]:
    row = study.model_dump(mode="json", exclude={"id", "analyses", "region_findings"})
    row["study_id"] = study.id
    return row


def _insert_returning_pks(connection, table, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    result = connection.execute(
        insert(table).returning(table.c.pk, sort_by_parameter_order=True), rows
    )
    return list(result.scalars())


def _insert_studies(connection, studies: Sequence[Study]) -> None:
    study_pks = _insert_returning_pks(connection, schema.studies, [_study_row(s) for s in studies])
    _insert_contents(connection, study_pks, studies)


def _insert_contents(connection, study_pks: Sequence[int], studies: Sequence[Study]) -> None:
    """The analyses, foci and region findings of studies whose rows exist already."""
    analysis_rows: list[dict[str, Any]] = []
    owners: list[Analysis] = []
    finding_rows: list[dict[str, Any]] = []
    for study_pk, study in zip(study_pks, studies, strict=True):
        for position, analysis in enumerate(study.analyses):
            row = analysis.model_dump(mode="json", exclude={"id", "foci"})
            analysis_rows.append(
                {"study_pk": study_pk, "position": position, "analysis_id": analysis.id, **row}
            )
            owners.append(analysis)
        for position, finding in enumerate(study.region_findings):
            finding_rows.append(_finding_row(study_pk, position, finding))
    analysis_pks = _insert_returning_pks(connection, schema.analyses, analysis_rows)
    focus_rows = [
        {
            "analysis_pk": analysis_pk,
            "position": position,
            "x": f.x,
            "y": f.y,
            "z": f.z,
            "stat_kind": f.stat_kind.value if f.stat_kind else None,
            "stat_value": f.stat_value,
            "label": f.label,
        }
        for analysis_pk, analysis in zip(analysis_pks, owners, strict=True)
        for position, f in enumerate(analysis.foci)
    ]
    if focus_rows:
        connection.execute(insert(schema.foci), focus_rows)
    if finding_rows:
        connection.execute(insert(schema.region_findings), finding_rows)


def _finding_row(study_pk: int, position: int, finding: RegionFinding) -> dict[str, Any]:
    row = finding.model_dump(mode="json", exclude={"effect_size"})
    effect = finding.effect_size
    row.update(
        study_pk=study_pk,
        position=position,
        effect_kind=effect.kind.value if effect else None,
        effect_value=effect.value if effect else None,
        effect_variance=effect.variance if effect else None,
        effect_n=effect.n if effect else None,
    )
    return row


def _conditions(study_filter: StudyFilter | None) -> list[Any]:
    if study_filter is None:
        return []
    s, a, r = schema.studies, schema.analyses, schema.region_findings
    conditions: list[Any] = []
    if study_filter.population is not None:
        conditions.append(s.c.population == study_filter.population.value)
    if study_filter.modality is not None:
        conditions.append(s.c.modality == study_filter.modality.value)
    if study_filter.year_min is not None:
        conditions.append(s.c.year >= study_filter.year_min)
    if study_filter.year_max is not None:
        conditions.append(s.c.year <= study_filter.year_max)
    if study_filter.study_ids is not None:
        conditions.append(s.c.study_id.in_(study_filter.study_ids))
    if study_filter.space is not None:
        conditions.append(
            s.c.pk.in_(select(a.c.study_pk).where(a.c.space == study_filter.space.value))
        )
    if study_filter.direction is not None:
        value = study_filter.direction.value
        conditions.append(
            or_(
                s.c.pk.in_(select(a.c.study_pk).where(a.c.direction == value)),
                s.c.pk.in_(select(r.c.study_pk).where(r.c.direction == value)),
            )
        )
    return conditions


def _load_studies(connection, study_filter: StudyFilter | None) -> list[Study]:
    s, a, f, r = schema.studies, schema.analyses, schema.foci, schema.region_findings
    conditions = _conditions(study_filter)
    chosen = select(s.c.pk).where(*conditions)
    study_rows = connection.execute(select(s).where(*conditions).order_by(s.c.pk)).all()
    if not study_rows:
        return []
    analysis_rows = connection.execute(
        select(a).where(a.c.study_pk.in_(chosen)).order_by(a.c.study_pk, a.c.position)
    ).all()
    focus_rows = connection.execute(
        select(f.c.analysis_pk, f.c.x, f.c.y, f.c.z, f.c.stat_kind, f.c.stat_value, f.c.label)
        .join(a, a.c.pk == f.c.analysis_pk)
        .where(and_(a.c.study_pk.in_(chosen)))
        .order_by(f.c.analysis_pk, f.c.position)
    ).all()
    finding_rows = connection.execute(
        select(r).where(r.c.study_pk.in_(chosen)).order_by(r.c.study_pk, r.c.position)
    ).all()

    foci_by_analysis: dict[int, list[Focus]] = defaultdict(list)
    for row in focus_rows:
        # Values were validated on the way in; constructing without re-validation keeps a
        # Neurosynth-sized export fast.
        foci_by_analysis[row.analysis_pk].append(
            Focus.model_construct(
                x=row.x,
                y=row.y,
                z=row.z,
                stat_kind=StatKind(row.stat_kind) if row.stat_kind else None,
                stat_value=row.stat_value,
                label=row.label,
            )
        )
    analyses_by_study: dict[int, list[Analysis]] = defaultdict(list)
    for row in analysis_rows:
        analyses_by_study[row.study_pk].append(
            Analysis(
                id=row.analysis_id,
                name=row.name,
                contrast=row.contrast,
                direction=row.direction,
                kind=row.kind,
                measure=row.measure,
                subject_group=row.subject_group,
                n_subjects=row.n_subjects,
                space=row.space,
                notes=row.notes,
                foci=foci_by_analysis[row.pk],
            )
        )
    findings_by_study: dict[int, list[RegionFinding]] = defaultdict(list)
    for row in finding_rows:
        effect = None
        if row.effect_kind is not None:
            effect = EffectSize(
                kind=row.effect_kind,
                value=row.effect_value,
                variance=row.effect_variance,
                n=row.effect_n,
            )
        findings_by_study[row.study_pk].append(
            RegionFinding(
                region=row.region,
                region_raw=row.region_raw,
                direction=row.direction,
                kind=row.kind,
                measure=row.measure,
                contrast=row.contrast,
                notes=row.notes,
                effect_size=effect,
            )
        )
    studies_out = []
    study_fields = [
        name for name in Study.model_fields if name not in {"id", "analyses", "region_findings"}
    ]
    for row in study_rows:
        fields = {name: getattr(row, name) for name in study_fields}
        studies_out.append(
            Study(
                id=row.study_id,
                analyses=analyses_by_study[row.pk],
                region_findings=findings_by_study[row.pk],
                **fields,
            )
        )
    return studies_out


# -- dual extraction ------------------------------------------------------------------------


class ExtractionConflict(NeuroreviewError):
    """An extraction in the wrong state for the request: submitted (reopen it to edit it), not
    submitted (nothing to reopen) or missing."""


@dataclass(frozen=True)
class StoredExtraction:
    """One reviewer's extraction of a study: the Study as JSON, when it was last saved and
    when it was submitted (None: a draft)."""

    study_id: str
    reviewer: str
    data: dict[str, Any]
    saved: datetime
    submitted: datetime | None


def _extraction(row) -> StoredExtraction:
    return StoredExtraction(
        study_id=row.study_id,
        reviewer=row.reviewer,
        data=row.data,
        saved=_as_utc(row.saved),
        submitted=_as_utc(row.submitted) if row.submitted is not None else None,
    )
