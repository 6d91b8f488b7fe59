"""The provider directory and on-call roster: who can be reached about a critical value, and how.

Per organization, owned by the processors (tables ``provider_directory`` and ``on_call_roster``,
migration 0006). Contacts are normalized on the way in (``domains.shared.contacts``) and leave
this module only towards a channel; everything else sees them masked. Maintained with
``lis directory ...`` (add, on-call, load a YAML file, list).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from domains.shared.contacts import mask_contact, normalize_email, normalize_mobile
from domains.shared.errors import InvalidInput

ROLES = ("clinician", "lab_supervisor", "pathologist")
CHANNELS = ("email", "sms", "whatsapp")
_COLUMNS = "provider_id, name, role, email, mobile, whatsapp, channels"


@dataclass(frozen=True)
class Contact:
    provider_id: str
    name: str
    role: str
    channels: tuple[str, ...]  # in the order the person asked to be reached
    addresses: Mapping[str, str] = field(repr=False)  # channel -> address, in the clear

    def routes(self, available: Collection[str]) -> list[tuple[str, str, str]]:
        """(channel, address, masked address) for each channel this deployment can send on."""
        return [
            (c, self.addresses[c], mask_contact(self.addresses[c]))
            for c in self.channels
            if c in available and self.addresses.get(c)
        ]


def _contact(row: Any) -> Contact:
    addresses = {"email": row.email, "sms": row.mobile, "whatsapp": row.whatsapp}
    return Contact(
        provider_id=row.provider_id, name=row.name, role=row.role,
        channels=tuple(c for c in row.channels.split(",") if c),
        addresses={k: v for k, v in addresses.items() if v},
    )  # fmt: skip


def provider(session: Session, organization_id: str, provider_id: str | None) -> Contact | None:
    if not provider_id:
        return None
    row = session.execute(
        text(
            f"SELECT {_COLUMNS} FROM provider_directory"
            " WHERE organization_id = :org AND provider_id = :pid AND active"
        ),
        {"org": organization_id, "pid": provider_id},
    ).one_or_none()
    return None if row is None else _contact(row)


def on_call(session: Session, organization_id: str, role: str, at: datetime) -> Contact | None:
    """Who covers ``role`` at ``at``: the roster entry that started last, still running."""
    row = session.execute(
        text(
            f"SELECT {', '.join('d.' + c for c in _COLUMNS.split(', '))}"
            " FROM on_call_roster r JOIN provider_directory d"
            " ON d.organization_id = r.organization_id AND d.provider_id = r.provider_id"
            " WHERE r.organization_id = :org AND r.role = :role AND r.starts_at <= :at"
            " AND (r.ends_at IS NULL OR r.ends_at > :at) AND d.active"
            " ORDER BY r.starts_at DESC LIMIT 1"
        ),
        {"org": organization_id, "role": role, "at": at},
    ).one_or_none()
    return None if row is None else _contact(row)


# -- maintenance (``lis directory``) ---------------------------------------------------------


def save_provider(
    session: Session,
    organization_id: str,
    provider_id: str,
    *,
    name: str,
    role: str,
    channels: list[str],
    email: str | None = None,
    mobile: str | None = None,
    whatsapp: str | None = None,
) -> None:
    """Add or replace one provider; bad input raises ``InvalidInput`` naming the field (never
    echoing a contact)."""
    if not provider_id.strip() or len(provider_id) > 64:
        raise InvalidInput("provider_id", "is required (at most 64 characters)")
    if not name.strip() or len(name) > 200:
        raise InvalidInput("name", "is required (at most 200 characters)")
    if role not in ROLES:
        raise InvalidInput("role", f"must be one of {', '.join(ROLES)}")
    values = {
        "email": normalize_email(email, field="email") if email else None,
        "mobile": normalize_mobile(mobile, field="mobile") if mobile else None,
        "whatsapp": normalize_mobile(whatsapp, field="whatsapp") if whatsapp else None,
    }
    by_channel = {"email": "email", "sms": "mobile", "whatsapp": "whatsapp"}
    for channel in channels:
        if channel not in CHANNELS:
            raise InvalidInput("channels", f"{channel!r} is not one of {', '.join(CHANNELS)}")
        if not values[by_channel[channel]]:
            raise InvalidInput("channels", f"{channel} needs the {by_channel[channel]} address")
    if not channels:
        raise InvalidInput("channels", "at least one channel is needed")
    session.execute(
        text(
            "INSERT INTO provider_directory (organization_id, provider_id, name, role, email,"
            " mobile, whatsapp, channels) VALUES (:org, :pid, :name, :role, :email, :mobile,"
            " :whatsapp, :channels) ON CONFLICT (organization_id, provider_id) DO UPDATE SET"
            " name = EXCLUDED.name, role = EXCLUDED.role, email = EXCLUDED.email,"
            " mobile = EXCLUDED.mobile, whatsapp = EXCLUDED.whatsapp,"
            " channels = EXCLUDED.channels, active = true, updated_at = now()"
        ),
        {"org": organization_id, "pid": provider_id.strip(), "name": name.strip(),
         "role": role, "channels": ",".join(channels), **values},
    )  # fmt: skip


def put_on_call(
    session: Session,
    organization_id: str,
    role: str,
    provider_id: str,
    *,
    starts_at: datetime,
    ends_at: datetime | None = None,
) -> None:
    if role not in ROLES[1:]:
        raise InvalidInput("role", f"on-call roles are {', '.join(ROLES[1:])}")
    if ends_at is not None and ends_at <= starts_at:
        raise InvalidInput("ends_at", "must be after starts_at")
    if provider(session, organization_id, provider_id) is None:
        raise InvalidInput("provider_id", f"{provider_id} is not in the directory")
    params = {"org": organization_id, "role": role, "pid": provider_id, "starts": starts_at}
    session.execute(  # the same shift put twice is one shift (a seed file loaded again)
        text(
            "DELETE FROM on_call_roster WHERE organization_id = :org AND role = :role"
            " AND provider_id = :pid AND starts_at = :starts"
        ),
        params,
    )
    session.execute(
        text(
            "INSERT INTO on_call_roster (organization_id, role, provider_id, starts_at, ends_at)"
            " VALUES (:org, :role, :pid, :starts, :ends)"
        ),
        {"org": organization_id, "role": role, "pid": provider_id, "starts": starts_at,
         "ends": ends_at},
    )  # fmt: skip


def listing(session: Session, organization_id: str) -> list[dict[str, str]]:
    """The directory with every contact masked (what a screen or a log may show)."""
    rows = session.execute(
        text(
            f"SELECT {_COLUMNS} FROM provider_directory WHERE organization_id = :org"
            " AND active ORDER BY role, provider_id"
        ),
        {"org": organization_id},
    ).all()
    out = []
    for row in rows:
        contact = _contact(row)
        masked = {c: mask_contact(a) for c, a in contact.addresses.items()}
        out.append(
            {"provider_id": contact.provider_id, "name": contact.name, "role": contact.role,
             "channels": ",".join(contact.channels),
             "contacts": ", ".join(f"{c} {m}" for c, m in masked.items())}
        )  # fmt: skip
    return out
