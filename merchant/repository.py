"""All SQL of the merchant package. Functions take the caller's session and never commit."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.database import delete_older
from merchant.domain import (
    AccountType,
    BankAccount,
    Merchant,
    MerchantProfile,
    SizeClass,
    Terminal,
)

# --- merchants and terminals ------------------------------------------------------------

_MERCHANT_PROFILE_COLUMNS = (
    "id, region_code, currency, legal_name, display_name, qr_name, qr_city, kana_name, mcc, "
    "jsic_major, district, size_class, bank_code, branch_code, account_type, account_number, "
    "account_holder, account_id"
)
_MERCHANT_COLUMNS = f"{_MERCHANT_PROFILE_COLUMNS}, status, created_at"
_TERMINAL_COLUMNS = "id, merchant_id, label, public_key, status, created_at, revoked_at"


def _merchant(row: Row[Any]) -> Merchant:
    profile = MerchantProfile(
        id=row.id,
        currency=row.currency,
        legal_name=row.legal_name,
        display_name=row.display_name,
        qr_name=row.qr_name,
        qr_city=row.qr_city,
        kana_name=row.kana_name,
        mcc=row.mcc,
        jsic_major=row.jsic_major,
        district=row.district,
        size_class=SizeClass(row.size_class),
        bank=BankAccount(
            row.bank_code,
            row.branch_code,
            AccountType(row.account_type),
            row.account_number,
            row.account_holder,
        ),
    )
    return Merchant(profile, row.region_code, row.account_id, row.status, row.created_at)


def _terminal(row: Row[Any]) -> Terminal:
    return Terminal(
        row.id,
        row.merchant_id,
        row.label,
        bytes(row.public_key),
        row.status,
        row.created_at,
        row.revoked_at,
    )


async def insert_merchant(
    session: AsyncSession, profile: MerchantProfile, *, region: str, account_id: int
) -> Merchant | None:
    """The new merchant, or None when the id is taken."""
    bank = profile.bank
    row = (
        await session.execute(
            text(
                f"INSERT INTO merchants ({_MERCHANT_PROFILE_COLUMNS}) "
                "VALUES (:id, :region, :currency, :legal_name, :display_name, :qr_name, "
                ":qr_city, :kana_name, :mcc, :jsic_major, :district, :size_class, :bank_code, "
                ":branch_code, :account_type, :account_number, :account_holder, :account_id) "
                f"ON CONFLICT (id) DO NOTHING RETURNING {_MERCHANT_COLUMNS}"
            ),
            {
                "id": profile.id,
                "region": region,
                "currency": profile.currency,
                "legal_name": profile.legal_name,
                "display_name": profile.display_name,
                "qr_name": profile.qr_name,
                "qr_city": profile.qr_city,
                "kana_name": profile.kana_name,
                "mcc": profile.mcc,
                "jsic_major": profile.jsic_major,
                "district": profile.district,
                "size_class": profile.size_class.value,
                "bank_code": bank.bank_code,
                "branch_code": bank.branch_code,
                "account_type": bank.account_type.value,
                "account_number": bank.account_number,
                "account_holder": bank.holder,
                "account_id": account_id,
            },
        )
    ).first()
    return _merchant(row) if row else None


async def display_names(session: AsyncSession, merchant_ids: list[str]) -> dict[str, str]:
    result = await session.execute(
        text("SELECT id, display_name FROM merchants WHERE id = ANY(:ids)"), {"ids": merchant_ids}
    )
    return {row.id: row.display_name for row in result}


async def get_merchant(session: AsyncSession, merchant_id: str) -> Merchant | None:
    row = (
        await session.execute(
            text(f"SELECT {_MERCHANT_COLUMNS} FROM merchants WHERE id = :id"), {"id": merchant_id}
        )
    ).first()
    return _merchant(row) if row else None


async def lock_merchant(session: AsyncSession, merchant_id: str) -> Merchant | None:
    row = (
        await session.execute(
            text(f"SELECT {_MERCHANT_COLUMNS} FROM merchants WHERE id = :id FOR UPDATE"),
            {"id": merchant_id},
        )
    ).first()
    return _merchant(row) if row else None


async def change_status(
    session: AsyncSession, merchant_id: str, status: str, *, reason: str, changed_by: str
) -> None:
    """Set the shop's status and keep the change with who made it and why."""
    await session.execute(
        text("UPDATE merchants SET status = :status WHERE id = :id"),
        {"id": merchant_id, "status": status},
    )
    await session.execute(
        text(
            "INSERT INTO merchant_status_changes (merchant_id, status, reason, changed_by) "
            "VALUES (:id, :status, :reason, :by)"
        ),
        {"id": merchant_id, "status": status, "reason": reason, "by": changed_by},
    )


async def merchants_of(session: AsyncSession, currency: str) -> list[Merchant]:
    """Every shop taking the currency, by id."""
    rows = await session.execute(
        text(f"SELECT {_MERCHANT_COLUMNS} FROM merchants WHERE currency = :currency ORDER BY id"),
        {"currency": currency},
    )
    return [_merchant(row) for row in rows]


async def merchants_page(
    session: AsyncSession, *, region: str | None, after: str | None, limit: int
) -> list[Merchant]:
    """Up to `limit` shops in id order after `after` (of one region, or all)."""
    rows = await session.execute(
        text(
            f"SELECT {_MERCHANT_COLUMNS} FROM merchants "
            "WHERE (CAST(:region AS text) IS NULL OR region_code = :region) "
            "AND (CAST(:after AS text) IS NULL OR id > :after) ORDER BY id LIMIT :limit"
        ),
        {"region": region, "after": after, "limit": limit},
    )
    return [_merchant(row) for row in rows]


async def insert_terminal(
    session: AsyncSession, *, terminal_id: str, merchant_id: str, label: str, public_key: bytes
) -> Terminal | None:
    """The new terminal, or None when its key is registered already."""
    row = (
        await session.execute(
            text(
                "INSERT INTO terminals (id, merchant_id, label, public_key) "
                "VALUES (:id, :merchant, :label, :key) "
                f"ON CONFLICT (public_key) DO NOTHING RETURNING {_TERMINAL_COLUMNS}"
            ),
            {"id": terminal_id, "merchant": merchant_id, "label": label, "key": public_key},
        )
    ).first()
    return _terminal(row) if row else None


async def get_terminal(session: AsyncSession, terminal_id: str) -> Terminal | None:
    row = (
        await session.execute(
            text(f"SELECT {_TERMINAL_COLUMNS} FROM terminals WHERE id = :id"), {"id": terminal_id}
        )
    ).first()
    return _terminal(row) if row else None


async def merchant_terminals(session: AsyncSession, merchant_id: str) -> list[Terminal]:
    result = await session.execute(
        text(
            f"SELECT {_TERMINAL_COLUMNS} FROM terminals WHERE merchant_id = :merchant "
            "ORDER BY created_at"
        ),
        {"merchant": merchant_id},
    )
    return [_terminal(row) for row in result]


async def revoke_terminal(session: AsyncSession, terminal_id: str) -> Terminal:
    await session.execute(
        text(
            "UPDATE terminals SET status = 'revoked', revoked_at = aizu_clock() "
            "WHERE id = :id AND status = 'active'"
        ),
        {"id": terminal_id},
    )
    found = await get_terminal(session, terminal_id)
    assert found is not None
    return found


_LOOK_UP_CODES = text(
    "WITH t AS (SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'merchant_id', "
    "merchant_id, 'label', label, 'public_key', encode(public_key, 'hex'), 'status', status, "
    "'created_at', created_at, 'revoked_at', revoked_at)), '[]') AS terminals FROM terminals "
    "WHERE id = ANY(:terminals)), "
    "paid AS (SELECT coalesce(jsonb_agg(jsonb_build_array(u.terminal_id, u.nonce)), '[]') AS paid "
    "FROM used_qr_nonces AS u JOIN unnest(CAST(:nonce_terminals AS text[]), "
    "CAST(:nonces AS text[])) AS k(terminal_id, nonce) "
    "ON u.terminal_id = k.terminal_id AND u.nonce = k.nonce), "
    f"m AS (SELECT {_MERCHANT_COLUMNS} FROM merchants WHERE id = ANY(:merchants)) "
    "SELECT t.terminals, paid.paid, m.* FROM t CROSS JOIN paid LEFT JOIN m ON true"
).columns(terminals=JSONB, paid=JSONB)


async def look_up_codes(
    session: AsyncSession, merchant_ids: list[str], nonces: list[tuple[str, str]]
) -> tuple[dict[str, Merchant], dict[str, Terminal], set[tuple[str, str]]]:
    """In one round trip: the merchants that exist among the ids; the terminals of the
    (terminal, nonce) dynamic codes; and which of those codes were paid before."""
    rows = (
        await session.execute(
            _LOOK_UP_CODES,
            {
                "merchants": sorted(set(merchant_ids)),
                "terminals": sorted({terminal for terminal, _ in nonces}),
                "nonce_terminals": [terminal for terminal, _ in nonces],
                "nonces": [nonce for _, nonce in nonces],
            },
        )
    ).all()
    merchants = {row.id: _merchant(row) for row in rows if row.id is not None}
    terminals = {
        found["id"]: Terminal(
            found["id"],
            found["merchant_id"],
            found["label"],
            bytes.fromhex(found["public_key"]),
            found["status"],
            datetime.fromisoformat(found["created_at"]),
            datetime.fromisoformat(found["revoked_at"]) if found["revoked_at"] else None,
        )
        for found in rows[0].terminals
    }
    return merchants, terminals, {(terminal, nonce) for terminal, nonce in rows[0].paid}


async def use_code_nonces(
    session: AsyncSession, nonces: list[tuple[str, str]], expiries: list[datetime | None]
) -> int:
    """Record the (terminal, nonce) dynamic codes, with their expiries, as paid; how many were
    not paid before."""
    result = await session.execute(
        text(
            "INSERT INTO used_qr_nonces (terminal_id, nonce, expires_at) SELECT * FROM "
            "unnest(CAST(:terminals AS text[]), CAST(:nonces AS text[]), "
            "CAST(:expiries AS timestamptz[])) "
            "ON CONFLICT (terminal_id, nonce) DO NOTHING RETURNING nonce"
        ),
        {
            "terminals": [t for t, _ in nonces],
            "nonces": [n for _, n in nonces],
            "expiries": expiries,
        },
    )
    return len(result.all())


async def forget_paid_codes(session: AsyncSession, expired_for: timedelta, limit: int) -> int:
    return await delete_older(session, "used_qr_nonces", "expires_at", expired_for, limit)


async def merchants_onboarded_before(
    session: AsyncSession, moment: datetime
) -> list[tuple[str, str, str]]:
    """(id, display name, status) of the shops onboarded before `moment`, by id."""
    rows = await session.execute(
        text(
            "SELECT id, display_name, status FROM merchants WHERE created_at < :moment ORDER BY id"
        ),
        {"moment": moment},
    )
    return [(row.id, row.display_name, row.status) for row in rows]
