"""Passwords (Argon2id), opaque tokens and their stored hashes, and the client's address behind trusted proxies."""

from __future__ import annotations

import functools
import hashlib
import ipaddress
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


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def proxy_networks(cidrs: str) -> tuple[Network, ...]:
    """The networks of a comma-separated CIDR list (LINLI_TRUSTED_PROXIES); ValueError names a malformed entry."""
    networks = []
    for entry in cidrs.split(","):
        if entry.strip():
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise ValueError(f"not an address or CIDR: {entry.strip()!r}") from None
    return tuple(networks)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(peer: str, forwarded_for: list[str], trusted_proxies: str) -> str:
    """The client's address: the peer's, unless the peer is a trusted proxy; then the nearest X-Forwarded-For hop
    that is not itself a trusted proxy (hops are read right to left, as each proxy appends the one it saw, so a
    client cannot pass itself off as someone else by sending the header itself)."""
    networks = proxy_networks(trusted_proxies)
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    address = peer
    for hop in reversed(hops):
        try:
            hop = str(ipaddress.ip_address(hop))
        except ValueError:
            # A malformed hop came from beyond our proxies: the last address a trusted proxy vouched for stands.
            return address
        address = hop
        if not _trusted(hop, networks):
            return hop
    return address
