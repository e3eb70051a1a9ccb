"""Passwords, session tokens and CSRF tokens: argon2 hashes, random tokens, constant-time checks.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended
settings), never stored or logged. A session is a random 256-bit token in an HttpOnly,
SameSite=Strict cookie; the server keeps only its SHA-256. Every request that changes something
must also carry the session's CSRF token in the ``X-CSRF-Token`` header (pages send it from a
meta tag), so a page on another site cannot act with a reviewer's cookie.
"""

from __future__ import annotations

import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()

#: Shortest password accepted; long passphrases are welcome (argon2 takes any length).
MIN_PASSWORD = 10


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def check_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


#: A hash to verify against when the user does not exist, so that a wrong user name takes as
#: long as a wrong password and the response time does not tell which names exist.
DUMMY_HASH = _HASHER.hash("not a password of anyone")
