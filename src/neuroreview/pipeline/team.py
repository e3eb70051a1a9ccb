"""Who may work on a project: members' roles set, recorded in the project's history, undone.

Roles live in the server's store (one server, many projects); the record of each change lives
in the project's own store beside its other changes, so a project's history says who was let
in, by whom and when. A project always keeps an owner.
"""

from __future__ import annotations

from typing import Any

from neuroreview.errors import NeuroreviewError
from neuroreview.store import Repository
from neuroreview.store.server import Project, Role, ServerStore


class LastOwner(NeuroreviewError):
    """The change would leave the project without an owner."""


def set_member_role(
    server: ServerStore, project: Project, username: str, role: Role | None, by: str
) -> dict[str, Any] | None:
    """Give ``username`` ``role`` in ``project`` (None: remove them), recorded as a change by
    ``by``; returns the recorded change, or None when the role was already that."""
    user = server.user(username)
    if user is None:
        raise NeuroreviewError(f"no account {username!r}")
    before = server.role(project, user)
    if before == role:
        return None
    owners = [u.username for u, r in server.members(project) if r is Role.OWNER]
    if owners == [username] and role is not Role.OWNER:
        raise LastOwner("a project keeps at least one owner")
    server.set_role(project, user, role)
    with Repository(project.url, create=False) as repository:
        return repository.record_change(
            "member",
            username,
            editor=by,
            action="update",
            summary=_describe(username, before, role),
            before={"role": before.value if before else None},
            after={"role": role.value if role else None},
        )


def restore_role(
    server: ServerStore,
    project: Project,
    repository: Repository,
    change: dict[str, Any],
    by: str,
) -> dict[str, Any]:
    """Undo a recorded role change, only while the member still has the role it gave."""
    username = change["entity_id"]
    user = server.user(username)
    current = server.role(project, user) if user is not None else None
    wanted_now = change["after"]["role"]
    if (current.value if current else None) != wanted_now:
        raise NeuroreviewError(
            f"{username}'s role has changed since change {change['pk']} "
            f"(now {current.value if current else 'not a member'}); set it on the project page"
        )
    before = change["before"]["role"]
    role = Role(before) if before else None
    owners = [u.username for u, r in server.members(project) if r is Role.OWNER]
    if owners == [username] and role is not Role.OWNER:
        raise LastOwner("a project keeps at least one owner")
    server.set_role(project, user, role)
    return repository.record_change(
        "member",
        username,
        editor=by,
        action="undo",
        summary=f"undid change {change['pk']} ({change['summary']})",
        before=change["after"],
        after=change["before"],
        undoes=change["pk"],
    )


def _describe(username: str, before: Role | None, after: Role | None) -> str:
    if before is None:
        return f"{username} added as {after.value}" if after else f"{username} unchanged"
    if after is None:
        return f"{username} removed (was {before.value})"
    return f"{username}: {before.value} -> {after.value}"
