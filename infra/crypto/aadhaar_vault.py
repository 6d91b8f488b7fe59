"""Aadhaar encryption at rest (Fernet: AES-128-CBC + HMAC-SHA256, with a timestamp).

Plaintext never leaves ``encrypt``/``decrypt``: not in exceptions, not in logs. Several keys may
be configured (comma-separated ``LIS_PHI_KEY``): the first encrypts, all decrypt, so a key can
be rotated without re-encrypting every row at once.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from domains.patient.ports import AadhaarVault


class VaultError(Exception):
    """A token could not be decrypted (wrong key or tampered). Carries no plaintext."""


class FernetAadhaarVault(AadhaarVault):
    def __init__(self, keys: SecretStr | str) -> None:
        # Settings hand over a SecretStr; a plain str is for tests and tools.
        raw = keys.get_secret_value() if isinstance(keys, SecretStr) else keys
        fernets = [Fernet(key.strip().encode()) for key in raw.split(",") if key.strip()]
        if not fernets:
            raise ValueError("no PHI key configured (LIS_PHI_KEY)")
        self._fernet = MultiFernet(fernets)

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            raise VaultError("Aadhaar token cannot be decrypted with the configured keys") from None

    def __repr__(self) -> str:  # keys stay out of reprs, tracebacks and debug logs
        return f"{type(self).__name__}(keys=<hidden>)"
