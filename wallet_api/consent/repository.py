"""All SQL of consent records and demographics. Functions take the caller's session and never
commit."""

from __future__ import annotations

from collections.abc import Sequence
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


async def record_consents(
    session: AsyncSession, wallet_ids: Sequence[str], terms: PurposeTerms, *, granted: bool
) -> list[ConsentRecord]:
    """The same decision by each wallet, in the order given, in one statement."""
    result = await session.execute(
        text(
            "INSERT INTO consents (wallet_id, purpose, granted, data_types, recipient, "
            "text_version) SELECT w.wallet_id, :purpose, :granted, :data_types, :recipient, "
            ":text_version FROM unnest(CAST(:wallets AS text[])) "
            f"WITH ORDINALITY AS w(wallet_id, n) ORDER BY n RETURNING {_CONSENT_COLUMNS}"
        ),
        {
            "wallets": list(wallet_ids),
            "purpose": terms.purpose.value,
            "granted": granted,
            "data_types": list(terms.data_types),
            "recipient": terms.recipient,
            "text_version": terms.text_version,
        },
    )
    # Ids follow the insertion order ORDER BY n sets.
    return sorted((_consent(row) for row in result), key=lambda record: record.id)


async def consent_history(session: AsyncSession, wallet_id: str) -> list[ConsentRecord]:
    result = await session.execute(
        text(f"SELECT {_CONSENT_COLUMNS} FROM consents WHERE wallet_id = :wallet ORDER BY id"),
        {"wallet": wallet_id},
    )
    return [_consent(row) for row in result]


async def set_demographics(
    session: AsyncSession, described: Sequence[tuple[str, str | None, str | None]]
) -> dict[str, Demographics]:
    """(wallet id, age band, district) of many wallets, each given once, in one statement."""
    result = await session.execute(
        text(
            "INSERT INTO demographics (wallet_id, age_band, district) "
            "SELECT * FROM unnest(CAST(:wallets AS text[]), CAST(:age_bands AS text[]), "
            "CAST(:districts AS text[])) ON CONFLICT (wallet_id) DO UPDATE "
            "SET age_band = excluded.age_band, district = excluded.district, "
            "updated_at = aizu_clock() "
            "RETURNING wallet_id, age_band, district, updated_at"
        ),
        {
            "wallets": [wallet_id for wallet_id, _, _ in described],
            "age_bands": [age_band for _, age_band, _ in described],
            "districts": [district for _, _, district in described],
        },
    )
    return {
        row.wallet_id: Demographics(row.wallet_id, row.age_band, row.district, row.updated_at)
        for row in result
    }


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
