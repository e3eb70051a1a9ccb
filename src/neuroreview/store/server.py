"""The web server's own tables: accounts, sessions, projects and who may do what in each.

A project is a review store (the same SQLite file or PostgreSQL database the CLI works on); the
server keeps, beside the projects it serves, the accounts of the people who use them and their
role in each project. These tables live in their own store (by default the first project's
file, so a one-review server is one file) and never in the review data, which stays exactly
what the CLI reads.

Secrets are stored hashed: passwords as the argon2 hashes the web layer computes, session
tokens as their SHA-256 (a stolen copy of the database opens no session).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from neuroreview.errors import NeuroreviewError
from neuroreview.store.repository import _enable_sqlite_foreign_keys, _engine_options, database_url

metadata = MetaData()

web_users = Table(
    "web_users",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("user_pk", Integer, ForeignKey("web_users.pk", ondelete="CASCADE"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("expires", DateTime(timezone=True), nullable=False),
)

web_projects = Table(
    "web_projects",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("title", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)

web_members = Table(
    "web_members",
    metadata,
    Column(
        "project_pk", Integer, ForeignKey("web_projects.pk", ondelete="CASCADE"), nullable=False
    ),
    Column("user_pk", Integer, ForeignKey("web_users.pk", ondelete="CASCADE"), nullable=False),
    Column("role", String(16), nullable=False),
    UniqueConstraint("project_pk", "user_pk"),
)


class Role(StrEnum):
    """What a member may do in a project; each role may do what the ones below it may."""

    VIEWER = "viewer"
    REVIEWER = "reviewer"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


@dataclass(frozen=True)
class User:
    pk: int
    username: str


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    expires: datetime


@dataclass(frozen=True)
class Project:
    pk: int
    slug: str
    title: str
    url: str


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ServerStore:
    """Accounts, sessions, projects and memberships in one SQL database (SQLite or PostgreSQL)."""

    def __init__(self, target: str) -> None:
        self.url = database_url(target)
        self.engine = create_engine(self.url, **_engine_options(self.url, None))
        _enable_sqlite_foreign_keys(self.engine)
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- accounts ------------------------------------------------------------------------
    def add_user(self, username: str, password_hash: str) -> User:
        try:
            with self.engine.begin() as connection:
                pk = connection.execute(
                    insert(web_users).values(
                        username=username, password_hash=password_hash, created=_now()
                    )
                ).inserted_primary_key[0]
        except IntegrityError:
            raise NeuroreviewError(f"the user name {username!r} is taken") from None
        return User(int(pk), username)

    def password_hash(self, username: str) -> tuple[User, str] | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(web_users.c.pk, web_users.c.password_hash).where(
                    web_users.c.username == username
                )
            ).first()
        return None if row is None else (User(row.pk, username), row.password_hash)

    def set_password_hash(self, user: User, password_hash: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(web_users)
                .where(web_users.c.pk == user.pk)
                .values(password_hash=password_hash)
            )

    def user(self, username: str) -> User | None:
        with self.engine.connect() as connection:
            pk = connection.execute(
                select(web_users.c.pk).where(web_users.c.username == username)
            ).scalar()
        return None if pk is None else User(int(pk), username)

    def n_users(self) -> int:
        with self.engine.connect() as connection:
            return len(connection.execute(select(web_users.c.pk)).all())

    # -- sessions ------------------------------------------------------------------------
    def add_session(self, user: User, token: str, csrf: str, lifetime: timedelta) -> Session:
        expires = _now() + lifetime
        with self.engine.begin() as connection:
            connection.execute(delete(web_sessions).where(web_sessions.c.expires < _now()))
            connection.execute(
                insert(web_sessions).values(
                    token_sha256=token_digest(token),
                    user_pk=user.pk,
                    csrf=csrf,
                    created=_now(),
                    expires=expires,
                )
            )
        return Session(user, csrf, expires)

    def session(self, token: str) -> Session | None:
        query = (
            select(
                web_users.c.pk, web_users.c.username, web_sessions.c.csrf, web_sessions.c.expires
            )
            .join(web_users, web_users.c.pk == web_sessions.c.user_pk)
            .where(web_sessions.c.token_sha256 == token_digest(token))
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            return None
        expires = _aware(row.expires)
        if expires < _now():
            return None
        return Session(User(row.pk, row.username), row.csrf, expires)

    def end_session(self, token: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                delete(web_sessions).where(web_sessions.c.token_sha256 == token_digest(token))
            )

    # -- projects and members ------------------------------------------------------------
    def add_project(self, slug: str, title: str, url: str) -> Project:
        try:
            with self.engine.begin() as connection:
                pk = connection.execute(
                    insert(web_projects).values(slug=slug, title=title, url=url, created=_now())
                ).inserted_primary_key[0]
        except IntegrityError:
            raise NeuroreviewError(f"a project {slug!r} exists already") from None
        return Project(int(pk), slug, title, url)

    def project(self, slug: str) -> Project | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(web_projects).where(web_projects.c.slug == slug)
            ).first()
        return None if row is None else Project(row.pk, row.slug, row.title, row.url)

    def projects(self) -> list[Project]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(web_projects).order_by(web_projects.c.slug)).all()
        return [Project(r.pk, r.slug, r.title, r.url) for r in rows]

    def set_role(self, project: Project, user: User, role: Role | None) -> None:
        """Make ``user`` a member with ``role``, change their role, or (None) remove them."""
        with self.engine.begin() as connection:
            connection.execute(
                delete(web_members).where(
                    web_members.c.project_pk == project.pk, web_members.c.user_pk == user.pk
                )
            )
            if role is not None:
                connection.execute(
                    insert(web_members).values(
                        project_pk=project.pk, user_pk=user.pk, role=role.value
                    )
                )

    def role(self, project: Project, user: User) -> Role | None:
        with self.engine.connect() as connection:
            value = connection.execute(
                select(web_members.c.role).where(
                    web_members.c.project_pk == project.pk, web_members.c.user_pk == user.pk
                )
            ).scalar()
        return None if value is None else Role(value)

    def members(self, project: Project) -> list[tuple[User, Role]]:
        query = (
            select(web_users.c.pk, web_users.c.username, web_members.c.role)
            .join(web_users, web_users.c.pk == web_members.c.user_pk)
            .where(web_members.c.project_pk == project.pk)
            .order_by(web_users.c.username)
        )
        with self.engine.connect() as connection:
            return [(User(r.pk, r.username), Role(r.role)) for r in connection.execute(query)]

    def memberships(self, user: User) -> list[tuple[Project, Role]]:
        query = (
            select(web_projects, web_members.c.role)
            .join(web_members, web_members.c.project_pk == web_projects.c.pk)
            .where(web_members.c.user_pk == user.pk)
            .order_by(web_projects.c.slug)
        )
        with self.engine.connect() as connection:
            return [
                (Project(r.pk, r.slug, r.title, r.url), Role(r.role))
                for r in connection.execute(query)
            ]

    def unowned_projects(self) -> list[Project]:
        owned = select(web_members.c.project_pk).where(web_members.c.role == Role.OWNER.value)
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(web_projects).where(web_projects.c.pk.not_in(owned))
            ).all()
        return [Project(r.pk, r.slug, r.title, r.url) for r in rows]


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
