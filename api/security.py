"""Passwords (Argon2id), opaque tokens and their stored hashes."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

# RFC 9106's "low memory" Argon2id profile: 64 MiB, 3 passes, 4 lanes.
PROFILE = RFC_9106_LOW_MEMORY
_hasher = PasswordHasher.from_parameters(PROFILE)
# Verifying against this when the account does not exist keeps the timing the same as a wrong password.
_DUMMY_HASH = _hasher.hash("linli-timing-equaliser")


def use_profile(profile: Parameters) -> None:
    """Hash and verify with another Argon2id profile from now on (the tests use a cheap one)."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher.from_parameters(profile)
    _DUMMY_HASH = _hasher.hash("linli-timing-equaliser")


def hash_password(password: str) -> str:
    """An Argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether the password matches; takes the same time for a missing account."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


def new_token() -> str:
    """A fresh unguessable token for a session id or API token."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    """What is stored for a token: its SHA-256, so a database leak leaks no live credential."""
    return hashlib.sha256(token.encode()).digest()
