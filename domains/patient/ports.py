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


class PatientKeyring(abc.ABC):
    """A data key per patient (crypto-shredding). The names and date of birth a patient event
    publishes are also sealed with the patient's own key; destroying that key makes every
    sealed copy unreadable at once, on every topic, replica and backup, without rewriting the
    log. Adapters keep the keys wrapped under the deployment's key."""

    @abc.abstractmethod
    def seal(self, organization_id: str, patient_id: str, plaintext: bytes) -> str:
        """Encrypt under the patient's key (made on first use); refused once shredded."""

    @abc.abstractmethod
    def open(self, organization_id: str, patient_id: str, token: str) -> bytes | None:
        """The plaintext, or None when the patient's key was shredded."""

    @abc.abstractmethod
    def shred(self, organization_id: str, patient_id: str) -> bool:
        """Destroy the patient's key for good; False when there was none left to destroy."""
