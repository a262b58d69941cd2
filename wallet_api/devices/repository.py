"""All SQL of devices and intent nonces. Functions take the caller's session and never commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.database import delete_older
from wallet_api.devices.domain import Device, DeviceStatus

_DEVICE_COLUMNS = "id, wallet_id, public_key, label, status, created_at, revoked_at"


def _device(row: Row[Any]) -> Device:
    return Device(
        id=row.id,
        wallet_id=row.wallet_id,
        public_key=bytes(row.public_key),
        label=row.label,
        status=DeviceStatus(row.status),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


@dataclass(frozen=True, slots=True)
class NewDevice:
    id: str
    wallet_id: str
    public_key: bytes
    label: str


async def insert_devices(session: AsyncSession, devices: Sequence[NewDevice]) -> dict[str, Device]:
    """The new devices by id, in one statement; one whose key is registered already is left
    out."""
    if not devices:
        return {}
    result = await session.execute(
        text(
            "INSERT INTO devices (id, wallet_id, public_key, label) "
            "SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:wallets AS text[]), "
            "CAST(:keys AS bytea[]), CAST(:labels AS text[])) "
            f"ON CONFLICT (public_key) DO NOTHING RETURNING {_DEVICE_COLUMNS}"
        ),
        {
            "ids": [d.id for d in devices],
            "wallets": [d.wallet_id for d in devices],
            "keys": [d.public_key for d in devices],
            "labels": [d.label for d in devices],
        },
    )
    return {row.id: _device(row) for row in result}


async def get_device(session: AsyncSession, device_id: str, *, lock: bool = False) -> Device | None:
    """The device; with `lock`, a revocation waits for the intent being accepted, or the other
    way round."""
    row = (
        await session.execute(
            text(
                f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE id = :id"
                + (" FOR NO KEY UPDATE" if lock else "")
            ),
            {"id": device_id},
        )
    ).first()
    return _device(row) if row else None


async def wallet_devices(session: AsyncSession, wallet_id: str) -> list[Device]:
    result = await session.execute(
        text(
            f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE wallet_id = :wallet ORDER BY created_at"
        ),
        {"wallet": wallet_id},
    )
    return [_device(row) for row in result]


async def revoke_device(session: AsyncSession, device_id: str) -> Device:
    row = (
        await session.execute(
            text(
                "UPDATE devices SET status = 'revoked', revoked_at = aizu_clock() "
                f"WHERE id = :id AND status = 'active' RETURNING {_DEVICE_COLUMNS}"
            ),
            {"id": device_id},
        )
    ).first()
    if row is None:  # revoked already: revoking again changes nothing
        found = await get_device(session, device_id)
        assert found is not None
        return found
    return _device(row)


async def use_nonce(session: AsyncSession, device_id: str, nonce: str, wallet_id: str) -> bool:
    """Record the intent's nonce; False when the device used it before (a replay)."""
    result = await session.execute(
        text(
            "INSERT INTO intent_nonces (device_id, nonce, wallet_id) VALUES (:device, :nonce, "
            ":wallet) ON CONFLICT (device_id, nonce) DO NOTHING RETURNING nonce"
        ),
        {"device": device_id, "nonce": nonce, "wallet": wallet_id},
    )
    return result.first() is not None


async def use_nonces(session: AsyncSession, nonces: list[tuple[str, str, str]]) -> int:
    """Record the (device, nonce, wallet) intents as accepted; how many were new."""
    result = await session.execute(
        text(
            "INSERT INTO intent_nonces (device_id, nonce, wallet_id) "
            "SELECT * FROM unnest(CAST(:devices AS text[]), CAST(:nonces AS text[]), "
            "CAST(:wallets AS text[])) ON CONFLICT (device_id, nonce) DO NOTHING RETURNING nonce"
        ),
        {
            "devices": [d for d, _, _ in nonces],
            "nonces": [n for _, n, _ in nonces],
            "wallets": [w for _, _, w in nonces],
        },
    )
    return len(result.all())


async def intents_since(session: AsyncSession, wallet_id: str, since: datetime) -> int:
    result = await session.execute(
        text(
            "SELECT count(*) FROM intent_nonces WHERE wallet_id = :wallet AND accepted_at >= :since"
        ),
        {"wallet": wallet_id, "since": since},
    )
    return int(result.scalar_one())


_LOOK_UP_INTENTS = text(
    f"WITH d AS (SELECT {_DEVICE_COLUMNS} FROM devices WHERE id = ANY(:devices) ORDER BY id "
    "FOR NO KEY UPDATE), "
    "recent AS (SELECT coalesce(jsonb_object_agg(wallet_id, accepted), '{}') AS recent FROM "
    "(SELECT wallet_id, count(*) AS accepted FROM intent_nonces WHERE wallet_id = ANY(:wallets) "
    "AND accepted_at >= :since GROUP BY wallet_id) AS counted), "
    "used AS (SELECT coalesce(jsonb_agg(jsonb_build_array(n.device_id, n.nonce)), '[]') AS used "
    "FROM intent_nonces AS n JOIN unnest(CAST(:nonce_devices AS text[]), "
    "CAST(:nonces AS text[])) AS k(device_id, nonce) "
    "ON n.device_id = k.device_id AND n.nonce = k.nonce) "
    "SELECT recent.recent, used.used, d.* FROM recent CROSS JOIN used LEFT JOIN d ON true"
).columns(recent=JSONB, used=JSONB)


async def look_up_intents(
    session: AsyncSession, intents: list[tuple[str, str, str]], since: datetime
) -> tuple[dict[str, Device], dict[str, int], set[tuple[str, str]]]:
    """For intents (wallet, device, nonce), in one round trip: their devices, locked as
    `get_device` locks one, in id order; the intents each wallet had accepted since `since`; and
    which (device, nonce) were accepted before."""
    rows = (
        await session.execute(
            _LOOK_UP_INTENTS,
            {
                "devices": sorted({device for _, device, _ in intents}),
                "wallets": sorted({wallet for wallet, _, _ in intents}),
                "since": since,
                "nonce_devices": [device for _, device, _ in intents],
                "nonces": [nonce for _, _, nonce in intents],
            },
        )
    ).all()
    devices = {row.id: _device(row) for row in rows if row.id is not None}
    recent = {wallet: int(accepted) for wallet, accepted in rows[0].recent.items()}
    used = {(device, nonce) for device, nonce in rows[0].used}
    return devices, recent, used


async def forget_intents(session: AsyncSession, kept: timedelta, limit: int) -> int:
    return await delete_older(session, "intent_nonces", "accepted_at", kept, limit)
