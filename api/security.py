"""API keys: 256 random bits, shown once; the database keeps a lookup prefix and a SHA-256.

A fast hash is right here (unlike passwords): a key has full entropy, so nothing can be
guessed from its hash, and every request checks one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

_SCHEME = "dx_"
_PREFIX_LEN = 12


def new_key() -> tuple[str, str, str]:
    """A fresh key: (the key to show once, its lookup prefix, its hash to store)."""
    prefix = secrets.token_hex(_PREFIX_LEN // 2)
    key = f"{_SCHEME}{prefix}{secrets.token_urlsafe(32)}"
    return key, prefix, hash_key(key)


def key_prefix(key: str) -> str | None:
    if not key.startswith(_SCHEME) or len(key) < len(_SCHEME) + _PREFIX_LEN + 16:
        return None
    return key[len(_SCHEME) : len(_SCHEME) + _PREFIX_LEN]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), stored_hash)
