"""Per-patient data keys in Postgres (crypto-shredding; the PatientKeyring port).

Each patient's key is a Fernet key, stored wrapped under the deployment's PHI keys
(``LIS_PHI_KEY``, rotatable like the Aadhaar vault's). Keys are made and read in short
transactions of their own, like the MRN counter: a key made for a command that then fails is
an unused row, never a wait on another command's lock. Shredding empties the wrapped key: the
sealed copies of that patient's names and date of birth, wherever they were copied (Kafka
topics, replicas, backups, downstream stores), can no longer be opened by anyone.
"""

from __future__ import annotations

from typing import cast

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr
from sqlalchemy import Engine, Table, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from domains.patient.ports import PatientKeyring
from domains.shared.errors import Conflict
from infra.db.keys import PatientKeyRow

_KEYS = cast(Table, PatientKeyRow.__table__)


class PatientKeyShredded(Conflict):
    """The patient's key was destroyed (erasure): nothing more is sealed for them (HTTP 409)."""

    code = "patient_key_shredded"


class SqlPatientKeyring(PatientKeyring):
    def __init__(self, engine: Engine, wrapping_keys: SecretStr | str) -> None:
        raw = (
            wrapping_keys.get_secret_value()
            if isinstance(wrapping_keys, SecretStr)
            else wrapping_keys
        )
        self._engine = engine
        self._wrap = MultiFernet([Fernet(k.strip().encode()) for k in raw.split(",") if k.strip()])

    def seal(self, organization_id: str, patient_id: str, plaintext: bytes) -> str:
        key = self._key(organization_id, patient_id, create=True)
        if key is None:
            raise PatientKeyShredded(f"patient {patient_id} was erased; nothing more is sealed")
        return key.encrypt(plaintext).decode("ascii")

    def open(self, organization_id: str, patient_id: str, token: str) -> bytes | None:
        key = self._key(organization_id, patient_id, create=False)
        if key is None:
            return None
        try:
            return key.decrypt(token.encode("ascii"))
        except InvalidToken:
            return None

    def shred(self, organization_id: str, patient_id: str) -> bool:
        with self._engine.begin() as conn:
            done = conn.execute(
                update(_KEYS)
                .where(
                    _KEYS.c.organization_id == organization_id,
                    _KEYS.c.patient_id == patient_id,
                    _KEYS.c.wrapped_key.is_not(None),
                )
                .values(wrapped_key=None, shredded_at=func.now())
            )
        return bool(done.rowcount)

    def _key(self, organization_id: str, patient_id: str, *, create: bool) -> Fernet | None:
        where = (_KEYS.c.organization_id == organization_id, _KEYS.c.patient_id == patient_id)
        with self._engine.begin() as conn:
            if create:
                wrapped = self._wrap.encrypt(Fernet.generate_key()).decode("ascii")
                conn.execute(
                    pg_insert(_KEYS)
                    .values(
                        organization_id=organization_id, patient_id=patient_id, wrapped_key=wrapped
                    )
                    .on_conflict_do_nothing()
                )
            row = conn.execute(select(_KEYS.c.wrapped_key).where(*where)).one_or_none()
        if row is None or row.wrapped_key is None:
            return None
        return Fernet(self._wrap.decrypt(row.wrapped_key.encode("ascii")))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(keys=<hidden>)"
