"""Ports the patient handlers need; adapters live in infra (SQL sequence, KMS/Fernet vault)."""

from __future__ import annotations

import abc


class MrnSource(abc.ABC):
    @abc.abstractmethod
    def next_mrn(self, organization_id: str) -> str:
        """A fresh MRN for this organization (see ``identifiers.mrn_from_sequence``)."""


class AadhaarVault(abc.ABC):
    """Aadhaar numbers are stored only as vault tokens (UIDAI rules forbid plain storage)."""

    @abc.abstractmethod
    def encrypt(self, plain: str) -> str: ...

    @abc.abstractmethod
    def decrypt(self, token: str) -> str: ...


class IdentifierIndex(abc.ABC):
    """A blind index: the same identifier always gives the same index value, which cannot be
    turned back into the identifier without the index key (a keyed hash, not the encryption
    key). Duplicates of an identifier stored only encrypted (Aadhaar) are found by it."""

    @abc.abstractmethod
    def blind_index(self, kind: str, value: str) -> str:
        """The index of ``value`` (already normalized) as an identifier of ``kind``."""
