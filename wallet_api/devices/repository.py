"""All SQL of devices and intent nonces. Functions take the caller's session and never commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

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


async def insert_device(
    session: AsyncSession, *, device_id: str, wallet_id: str, public_key: bytes, label: str
) -> Device | None:
    """The new device, or None when the key is registered already."""
    row = (
        await session.execute(
            text(
                "INSERT INTO devices (id, wallet_id, public_key, label) "
                "VALUES (:id, :wallet, :key, :label) "
                f"ON CONFLICT (public_key) DO NOTHING RETURNING {_DEVICE_COLUMNS}"
            ),
            {"id": device_id, "wallet": wallet_id, "key": public_key, "label": label},
        )
    ).first()
    return _device(row) if row else None


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


async def intents_since(session: AsyncSession, wallet_id: str, since: datetime) -> int:
    result = await session.execute(
        text(
            "SELECT count(*) FROM intent_nonces WHERE wallet_id = :wallet AND accepted_at >= :since"
        ),
        {"wallet": wallet_id, "since": since},
    )
    return int(result.scalar_one())
