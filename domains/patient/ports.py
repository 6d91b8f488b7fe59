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
