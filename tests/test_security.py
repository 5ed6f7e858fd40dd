"""Passwords are stored as Argon2id hashes of RFC 9106's low-memory profile; tokens only as their SHA-256."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from argon2 import Type

from api import security


def test_the_production_profile_is_argon2id_low_memory():
    assert security.PROFILE.type is Type.ID
    assert (security.PROFILE.memory_cost, security.PROFILE.time_cost, security.PROFILE.parallelism) == (65536, 3, 4)


def test_a_fresh_process_hashes_with_the_production_profile():
    # The tests themselves run on a cheap profile (conftest); a process of the app does not.
    code = "from api import security; print(security.hash_password('pw'))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout.strip()
    assert out.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert security.verify_password(out, "pw") and not security.verify_password(out, "wrong")


def test_missing_accounts_and_bad_hashes_verify_as_false():
    assert security.verify_password(None, "anything") is False
    assert security.verify_password("not-a-hash", "anything") is False


def test_tokens_are_stored_as_their_sha256():
    token = security.new_token()
    assert len(token) >= 43 and security.new_token() != token
    assert security.token_hash(token) == hashlib.sha256(token.encode()).digest()
