"""All SQL of campaigns. Functions take the caller's session and never commit."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.domain import Campaign, PremiumSets, Purchase


def _campaign(row: Row[Any]) -> Campaign:
    return Campaign(
        id=row.id,
        region=row.region_code,
        currency=row.currency,
        name=row.name,
        settings=PremiumSets.from_json(row.settings),
        budget_account_id=row.budget_account_id,
        breakage_account_id=row.breakage_account_id,
    )


async def insert_campaign(session: AsyncSession, campaign: Campaign) -> bool:
    result = await session.execute(
        text(
            "INSERT INTO campaigns (id, region_code, currency, kind, name, settings, "
            "budget_account_id, breakage_account_id) VALUES (:id, :region, :currency, "
            "'premium_sets', :name, CAST(:settings AS jsonb), :budget, :breakage) "
            "ON CONFLICT (id) DO NOTHING RETURNING id"
        ),
        {
            "id": campaign.id,
            "region": campaign.region,
            "currency": campaign.currency,
            "name": campaign.name,
            "settings": json.dumps(campaign.settings.as_json()),
            "budget": campaign.budget_account_id,
            "breakage": campaign.breakage_account_id,
        },
    )
    return result.first() is not None


async def get_campaign(session: AsyncSession, campaign_id: str) -> Campaign | None:
    row = (
        await session.execute(text("SELECT * FROM campaigns WHERE id = :id"), {"id": campaign_id})
    ).first()
    return _campaign(row) if row else None


async def sets_bought(session: AsyncSession, campaign_id: str, wallet_id: str) -> int:
    result = await session.execute(
        text(
            "SELECT coalesce(sum(sets), 0) FROM campaign_purchases "
            "WHERE campaign_id = :campaign AND wallet_id = :wallet"
        ),
        {"campaign": campaign_id, "wallet": wallet_id},
    )
    return int(result.scalar_one())


async def insert_purchase(session: AsyncSession, purchase: Purchase) -> None:
    await session.execute(
        text(
            "INSERT INTO campaign_purchases (id, campaign_id, wallet_id, sets, price, points, "
            "entry_id) VALUES (:id, :campaign, :wallet, :sets, :price, :points, :entry)"
        ),
        {
            "id": purchase.id,
            "campaign": purchase.campaign_id,
            "wallet": purchase.wallet_id,
            "sets": purchase.sets,
            "price": purchase.price,
            "points": purchase.points,
            "entry": purchase.entry_id,
        },
    )


async def sets_sold(session: AsyncSession, campaign_id: str) -> int:
    result = await session.execute(
        text("SELECT coalesce(sum(sets), 0) FROM campaign_purchases WHERE campaign_id = :c"),
        {"c": campaign_id},
    )
    return int(result.scalar_one())


async def all_campaigns(session: AsyncSession) -> list[Campaign]:
    result = await session.execute(text("SELECT * FROM campaigns ORDER BY id"))
    return [_campaign(row) for row in result]


async def expired_lots(session: AsyncSession, campaign_id: str, at: datetime) -> list[Row[Any]]:
    """The campaign's lots expired by `at` that still hold points available."""
    result = await session.execute(
        text(
            "SELECT id, code, posted_balance - pending_holds AS available FROM accounts "
            "WHERE lot_kind = 'premium' AND expires_at <= :at "
            "AND posted_balance - pending_holds > 0 AND code LIKE :pattern ORDER BY id"
        ),
        {"at": at, "pattern": f"wallet:%:{campaign_id}:%"},
    )
    return list(result)
