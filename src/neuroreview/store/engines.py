"""Engines a long-running process keeps for the stores it serves.

A ``Repository`` normally makes its own engine and disposes of it on ``close``: right for a
command that opens a store once. The web server opens a project's store for every request,
and a new engine each time costs a new database connection (PostgreSQL: ~30 ms of TCP and
authentication) and an empty statement cache (SQLite: every statement compiled again), which
made a decision take 60 ms instead of 20 (benchmarks/RESULTS.md, "Web workspace load"). So the
server names the stores it serves with :func:`keep`; a ``Repository`` of such a store borrows
the kept engine (and still checks the schema, so a store emptied by someone else is noticed)
and leaves it open on ``close``. At most :data:`LIMIT` engines are kept; the oldest is disposed
of when another is asked for.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable

from sqlalchemy import Engine

#: Most engines kept at once.
LIMIT = 64

_lock = threading.Lock()
#: Store URL -> its engine (None until a Repository first opens it).
_kept: OrderedDict[str, Engine | None] = OrderedDict()


def keep(urls: Iterable[str]) -> None:
    """Keep the engines of these store URLs open across ``Repository`` objects."""
    evicted: list[Engine] = []
    with _lock:
        for url in urls:
            _kept.setdefault(url, None)
            _kept.move_to_end(url)
        while len(_kept) > LIMIT:
            _url, engine = _kept.popitem(last=False)
            if engine is not None:
                evicted.append(engine)
    for engine in evicted:
        engine.dispose()


def release(urls: Iterable[str]) -> None:
    """Stop keeping these stores' engines, and dispose of them."""
    with _lock:
        engines = [_kept.pop(url, None) for url in urls]
    for engine in engines:
        if engine is not None:
            engine.dispose()


def borrow(url: str, make: Callable[[], Engine]) -> tuple[Engine, bool]:
    """The engine for ``url``: the kept one (made by ``make`` the first time), or a new one
    the caller owns; the flag says whether it is kept (and so must not be disposed of)."""
    with _lock:
        if url not in _kept:
            return make(), False
        engine = _kept[url]
        if engine is None:
            engine = _kept[url] = make()
        _kept.move_to_end(url)
        return engine, True
