"""Keyed hashes (HMAC-SHA256) under the PHI index key (``LIS_PHI_INDEX_KEY``): blind indexes of
identifiers stored only encrypted (one Aadhaar, one patient), and the command log's payload
fingerprints. A plain hash of a 12-digit number is reversed by hashing every number; a keyed
one is not without the key. It is a key of its own, not the encryption key: rotating the
Fernet keys must not change a single index value.

Each use hashes under its own label, so an index value never equals another use's digest.
"""

from __future__ import annotations

import hashlib
import hmac

from pydantic import SecretStr

from domains.patient.ports import IdentifierIndex

MIN_KEY_LENGTH = 32


class HmacIndex(IdentifierIndex):
    def __init__(self, key: SecretStr | str) -> None:
        raw = key.get_secret_value() if isinstance(key, SecretStr) else key
        if len(raw.strip()) < MIN_KEY_LENGTH:
            raise ValueError(
                f"the PHI index key (LIS_PHI_INDEX_KEY) needs at least {MIN_KEY_LENGTH} "
                "characters (e.g. secrets.token_urlsafe(32))"
            )
        self._key = raw.strip().encode()

    def digest(self, label: str, data: bytes) -> str:
        return hmac.new(self._key, label.encode() + b"\x00" + data, hashlib.sha256).hexdigest()

    def blind_index(self, kind: str, value: str) -> str:
        return self.digest(f"index:{kind}", value.encode())

    def command_payload(self, payload: bytes) -> str:
        return self.digest("command-payload", payload)

    def __repr__(self) -> str:  # the key stays out of reprs and tracebacks
        return f"{type(self).__name__}(key=<hidden>)"
