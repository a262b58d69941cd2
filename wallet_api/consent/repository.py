"""All SQL of consent records and demographics. Functions take the caller's session and never
commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from wallet_api.consent.domain import ConsentRecord, Demographics, Purpose, PurposeTerms

_CONSENT_COLUMNS = (
    "id, wallet_id, purpose, granted, data_types, recipient, text_version, recorded_at"
)


def _consent(row: Row[Any]) -> ConsentRecord:
    return ConsentRecord(
        id=row.id,
        wallet_id=row.wallet_id,
        purpose=Purpose(row.purpose),
        granted=row.granted,
        data_types=tuple(row.data_types),
        recipient=row.recipient,
        text_version=row.text_version,
        recorded_at=row.recorded_at,
    )


async def record_consent(
    session: AsyncSession, wallet_id: str, terms: PurposeTerms, *, granted: bool
) -> ConsentRecord:
    row = (
        await session.execute(
            text(
                "INSERT INTO consents (wallet_id, purpose, granted, data_types, recipient, "
                "text_version) VALUES (:wallet, :purpose, :granted, :data_types, :recipient, "
                f":text_version) RETURNING {_CONSENT_COLUMNS}"
            ),
            {
                "wallet": wallet_id,
                "purpose": terms.purpose.value,
                "granted": granted,
                "data_types": list(terms.data_types),
                "recipient": terms.recipient,
                "text_version": terms.text_version,
            },
        )
    ).one()
    return _consent(row)


async def consent_history(session: AsyncSession, wallet_id: str) -> list[ConsentRecord]:
    result = await session.execute(
        text(f"SELECT {_CONSENT_COLUMNS} FROM consents WHERE wallet_id = :wallet ORDER BY id"),
        {"wallet": wallet_id},
    )
    return [_consent(row) for row in result]


async def set_demographics(
    session: AsyncSession, wallet_id: str, age_band: str | None, district: str | None
) -> Demographics:
    row = (
        await session.execute(
            text(
                "INSERT INTO demographics (wallet_id, age_band, district) "
                "VALUES (:wallet, :age_band, :district) ON CONFLICT (wallet_id) DO UPDATE "
                "SET age_band = excluded.age_band, district = excluded.district, "
                "updated_at = aizu_clock() "
                "RETURNING wallet_id, age_band, district, updated_at"
            ),
            {"wallet": wallet_id, "age_band": age_band, "district": district},
        )
    ).one()
    return Demographics(row.wallet_id, row.age_band, row.district, row.updated_at)


async def get_demographics(session: AsyncSession, wallet_id: str) -> Demographics | None:
    row = (
        await session.execute(
            text(
                "SELECT wallet_id, age_band, district, updated_at FROM demographics "
                "WHERE wallet_id = :wallet"
            ),
            {"wallet": wallet_id},
        )
    ).first()
    return Demographics(row.wallet_id, row.age_band, row.district, row.updated_at) if row else None


async def delete_demographics(session: AsyncSession, wallet_id: str) -> None:
    await session.execute(
        text("DELETE FROM demographics WHERE wallet_id = :wallet"), {"wallet": wallet_id}
    )


async def consenting_demographics(
    session: AsyncSession, currency: str, purpose: Purpose, text_version: str
) -> list[Row[Any]]:
    """(wallet id, age band, district) of the currency's residents whose latest decision for
    `purpose` grants it under `text_version`."""
    result = await session.execute(
        text(
            """
SELECT w.id AS wallet_id, d.age_band, d.district
  FROM wallets w
  JOIN LATERAL (SELECT granted, text_version FROM consents c
                 WHERE c.wallet_id = w.id AND c.purpose = :purpose
                 ORDER BY c.recorded_at DESC, c.id DESC LIMIT 1) latest ON true
  LEFT JOIN demographics d ON d.wallet_id = w.id
 WHERE w.currency = :currency AND w.kind = 'resident'
   AND latest.granted AND latest.text_version = :version
"""
        ),
        {"currency": currency, "purpose": purpose.value, "version": text_version},
    )
    return list(result)
