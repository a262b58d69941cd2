"""All SQL of campaigns. Functions take the caller's session and never commit."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.domain import (
    TERMS,
    Application,
    Campaign,
    CampaignKind,
    Eligibility,
    Grant,
    Progress,
    Purchase,
    ResidentRecord,
    Round,
    Standing,
    WonSets,
)

_CAMPAIGN = (
    "SELECT c.*, l.seed_sha256 FROM campaigns c "
    "LEFT JOIN campaign_lotteries l ON l.campaign_id = c.id"
)


def _campaign(row: Row[Any]) -> Campaign:
    return Campaign(
        id=row.id,
        region=row.region_code,
        currency=row.currency,
        name=row.name,
        terms=TERMS[CampaignKind(row.kind)].from_json(row.settings),
        eligibility=Eligibility.from_json(row.eligibility),
        budget_account_id=row.budget_account_id,
        breakage_account_id=row.breakage_account_id,
        seed_sha256=row.seed_sha256,
        budget_returned_entry_id=row.budget_returned_entry_id,
    )


async def insert_campaign(session: AsyncSession, campaign: Campaign) -> bool:
    result = await session.execute(
        text(
            "INSERT INTO campaigns (id, region_code, currency, kind, name, settings, eligibility, "
            "budget_account_id, breakage_account_id) VALUES (:id, :region, :currency, :kind, "
            ":name, CAST(:settings AS jsonb), CAST(:eligibility AS jsonb), :budget, :breakage) "
            "ON CONFLICT (id) DO NOTHING RETURNING id"
        ),
        {
            "id": campaign.id,
            "region": campaign.region,
            "currency": campaign.currency,
            "kind": campaign.kind.value,
            "name": campaign.name,
            "settings": json.dumps(campaign.terms.as_json()),
            "eligibility": json.dumps(campaign.eligibility.as_json()),
            "budget": campaign.budget_account_id,
            "breakage": campaign.breakage_account_id,
        },
    )
    return result.first() is not None


async def get_campaign(
    session: AsyncSession, campaign_id: str, *, lock: bool = False
) -> Campaign | None:
    """The campaign; with `lock`, its row stays locked to the end of the transaction."""
    row = (
        await session.execute(
            text(f"{_CAMPAIGN} WHERE c.id = :id" + (" FOR UPDATE OF c" if lock else "")),
            {"id": campaign_id},
        )
    ).first()
    return _campaign(row) if row else None


async def update_campaign(session: AsyncSession, campaign: Campaign) -> None:
    await session.execute(
        text(
            "UPDATE campaigns SET name = :name, settings = CAST(:settings AS jsonb), "
            "eligibility = CAST(:eligibility AS jsonb) WHERE id = :id"
        ),
        {
            "id": campaign.id,
            "name": campaign.name,
            "settings": json.dumps(campaign.terms.as_json()),
            "eligibility": json.dumps(campaign.eligibility.as_json()),
        },
    )


async def campaign_names(session: AsyncSession, campaign_ids: list[str]) -> dict[str, str]:
    result = await session.execute(
        text("SELECT id, name FROM campaigns WHERE id = ANY(:ids)"), {"ids": campaign_ids}
    )
    return {row.id: row.name for row in result}


async def set_budget_returned(session: AsyncSession, campaign_id: str, entry_id: int) -> None:
    await session.execute(
        text("UPDATE campaigns SET budget_returned_entry_id = :entry WHERE id = :id"),
        {"entry": entry_id, "id": campaign_id},
    )


async def spend_back_campaigns(
    session: AsyncSession, currency: str, at: datetime, until: datetime | None = None
) -> list[Campaign]:
    """The currency's spend-back campaigns earning at `at` (with `until`, at any moment from
    `at` to `until`)."""
    result = await session.execute(
        text(
            f"{_CAMPAIGN} WHERE c.currency = :currency AND c.kind = 'spend_back' "
            "AND CAST(c.settings ->> 'earn_from' AS timestamptz) <= :until "
            "AND CAST(c.settings ->> 'earn_until' AS timestamptz) > :at ORDER BY c.id"
        ),
        {"currency": currency, "at": at, "until": until or at},
    )
    return [_campaign(row) for row in result]


# The resident register


async def upsert_resident_records(session: AsyncSession, records: list[ResidentRecord]) -> None:
    await session.execute(
        text(
            "INSERT INTO resident_register (subject, household, district, birth_date) "
            "VALUES (:subject, :household, :district, :birth_date) ON CONFLICT (subject) DO "
            "UPDATE SET household = excluded.household, district = excluded.district, "
            "birth_date = excluded.birth_date, updated_at = aizu_clock()"
        ),
        [
            {
                "subject": r.subject,
                "household": r.household,
                "district": r.district,
                "birth_date": r.birth_date,
            }
            for r in records
        ],
    )


async def resident_records(session: AsyncSession, subjects: list[str]) -> dict[str, ResidentRecord]:
    result = await session.execute(
        text(
            "SELECT subject, household, district, birth_date FROM resident_register "
            "WHERE subject = ANY(:subjects)"
        ),
        {"subjects": subjects},
    )
    return {
        row.subject: ResidentRecord(row.subject, row.household, row.district, row.birth_date)
        for row in result
    }


# Lotteries


async def insert_lottery(session: AsyncSession, campaign_id: str, seed: str, sha256: str) -> None:
    await session.execute(
        text(
            "INSERT INTO campaign_lotteries (campaign_id, seed, seed_sha256) "
            "VALUES (:campaign, :seed, :sha256)"
        ),
        {"campaign": campaign_id, "seed": seed, "sha256": sha256},
    )


async def lock_lottery(session: AsyncSession, campaign_id: str) -> Row[Any] | None:
    """The lottery's seed and draw time, locked: draws of one campaign take turns."""
    result = await session.execute(
        text(
            "SELECT seed, seed_sha256, drawn_at FROM campaign_lotteries "
            "WHERE campaign_id = :campaign FOR UPDATE"
        ),
        {"campaign": campaign_id},
    )
    return result.first()


async def drawn_at_shared(session: AsyncSession, campaign_id: str) -> datetime | None:
    """When the lottery was drawn, if it was, its row share-locked: an application holding it
    is either counted by the draw, which waits for it, or sees the draw and is refused."""
    result = await session.execute(
        text("SELECT drawn_at FROM campaign_lotteries WHERE campaign_id = :campaign FOR SHARE"),
        {"campaign": campaign_id},
    )
    drawn: datetime | None = result.scalar_one_or_none()
    return drawn


async def revealed_seed(session: AsyncSession, campaign_id: str) -> str | None:
    result = await session.execute(
        text(
            "SELECT seed FROM campaign_lotteries WHERE campaign_id = :campaign "
            "AND drawn_at IS NOT NULL"
        ),
        {"campaign": campaign_id},
    )
    return result.scalar_one_or_none()


async def mark_drawn(session: AsyncSession, campaign_id: str) -> None:
    await session.execute(
        text("UPDATE campaign_lotteries SET drawn_at = aizu_clock() WHERE campaign_id = :campaign"),
        {"campaign": campaign_id},
    )


async def insert_applications(
    session: AsyncSession, campaign_id: str, applications: Sequence[Application]
) -> set[str]:
    """The ids of the applications inserted; one whose wallet has applied already is left out."""
    result = await session.execute(
        text(
            "INSERT INTO campaign_applications (id, campaign_id, wallet_id, sets) "
            "SELECT id, :campaign, wallet_id, sets FROM unnest(CAST(:ids AS text[]), "
            "CAST(:wallets AS text[]), CAST(:sets AS integer[])) AS a(id, wallet_id, sets) "
            "ON CONFLICT (campaign_id, wallet_id) DO NOTHING RETURNING id"
        ),
        {
            "campaign": campaign_id,
            "ids": [a.id for a in applications],
            "wallets": [a.wallet_id for a in applications],
            "sets": [a.sets for a in applications],
        },
    )
    return {row.id for row in result}


async def applications(session: AsyncSession, campaign_id: str) -> list[Application]:
    result = await session.execute(
        text(
            "SELECT id, wallet_id, sets FROM campaign_applications "
            "WHERE campaign_id = :campaign ORDER BY id"
        ),
        {"campaign": campaign_id},
    )
    return [Application(row.id, row.wallet_id, row.sets) for row in result]


async def insert_round(session: AsyncSession, campaign_id: str, lottery_round: Round) -> None:
    await session.execute(
        text(
            "INSERT INTO campaign_rounds (campaign_id, round, sets, purchase_from, "
            "purchase_until, next_position) VALUES (:campaign, :round, :sets, :purchase_from, "
            ":purchase_until, :next_position)"
        ),
        {
            "campaign": campaign_id,
            "round": lottery_round.number,
            "sets": lottery_round.sets,
            "purchase_from": lottery_round.purchase_from,
            "purchase_until": lottery_round.purchase_until,
            "next_position": lottery_round.next_position,
        },
    )
    # A round's grants hold the ranking positions just before its next_position.
    first_position = lottery_round.next_position - len(lottery_round.grants)
    if lottery_round.grants:
        await session.execute(
            text(
                "INSERT INTO campaign_grants (application_id, campaign_id, round, position, "
                "sets) VALUES (:application, :campaign, :round, :position, :sets)"
            ),
            [
                {
                    "application": grant.application_id,
                    "campaign": campaign_id,
                    "round": lottery_round.number,
                    "position": position,
                    "sets": grant.sets,
                }
                for position, grant in enumerate(lottery_round.grants, start=first_position)
            ],
        )


async def rounds(session: AsyncSession, campaign_id: str) -> list[Round]:
    result = await session.execute(
        text(
            "SELECT r.round, r.sets, r.purchase_from, r.purchase_until, r.next_position, "
            "g.application_id, g.sets AS granted FROM campaign_rounds r "
            "LEFT JOIN campaign_grants g ON g.campaign_id = r.campaign_id AND g.round = r.round "
            "WHERE r.campaign_id = :campaign ORDER BY r.round, g.position"
        ),
        {"campaign": campaign_id},
    )
    found: dict[int, Round] = {}
    for row in result:
        if row.round not in found:
            found[row.round] = Round(
                row.round, row.sets, row.purchase_from, row.purchase_until, row.next_position
            )
        if row.application_id is not None:
            found[row.round].grants.append(Grant(row.application_id, row.granted))
    return list(found.values())


async def grants_of(
    session: AsyncSession, campaign_id: str, wallet_ids: Iterable[str]
) -> dict[str, Row[Any]]:
    """The winning grants of the wallets that have one (sets, purchase_from, purchase_until)."""
    result = await session.execute(
        text(
            "SELECT a.wallet_id, g.sets, r.purchase_from, r.purchase_until "
            "FROM campaign_applications a "
            "JOIN campaign_grants g ON g.application_id = a.id "
            "JOIN campaign_rounds r ON r.campaign_id = g.campaign_id AND r.round = g.round "
            "WHERE a.campaign_id = :campaign AND a.wallet_id = ANY(:wallets)"
        ),
        {"campaign": campaign_id, "wallets": sorted(set(wallet_ids))},
    )
    return {row.wallet_id: row for row in result}


async def last_purchase_window_end(session: AsyncSession, campaign_id: str) -> datetime | None:
    result = await session.execute(
        text("SELECT max(purchase_until) FROM campaign_rounds WHERE campaign_id = :campaign"),
        {"campaign": campaign_id},
    )
    end: datetime | None = result.scalar_one()
    return end


async def sets_bought(
    session: AsyncSession, campaign_id: str, wallet_ids: Iterable[str]
) -> dict[str, int]:
    """The sets each wallet has bought in the campaign (those that bought any)."""
    return await _sets_bought_by(session, campaign_id, "wallet_id", wallet_ids)


async def _sets_bought_by(
    session: AsyncSession,
    campaign_id: str,
    buyer: Literal["wallet_id", "household"],
    buyers: Iterable[str],
) -> dict[str, int]:
    result = await session.execute(
        text(
            f"SELECT {buyer} AS buyer, sum(sets) AS sets FROM campaign_purchases "
            f"WHERE campaign_id = :campaign AND {buyer} = ANY(:buyers) GROUP BY {buyer}"
        ),
        {"campaign": campaign_id, "buyers": sorted(set(buyers))},
    )
    return {row.buyer: int(row.sets) for row in result}


async def lock_households(
    session: AsyncSession, campaign_id: str, households: Iterable[str]
) -> None:
    """Households' purchases in a campaign take turns (transaction-scoped advisory locks: a
    household has no row of its own to lock), taken in one order so that batches never wait on
    each other in a circle."""
    await session.execute(
        text(
            "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended("
            "'campaign-household:' || :campaign || ':' || household, 0) AS h "
            "FROM unnest(CAST(:households AS text[])) AS household ORDER BY h) AS wanted"
        ),
        {"campaign": campaign_id, "households": sorted(set(households))},
    )


async def sets_bought_by_households(
    session: AsyncSession, campaign_id: str, households: Iterable[str]
) -> dict[str, int]:
    """The sets each household has bought in the campaign (those that bought any)."""
    return await _sets_bought_by(session, campaign_id, "household", households)


async def insert_purchases(
    session: AsyncSession, purchases: Sequence[tuple[Purchase, str | None]]
) -> None:
    """Record the purchases, each with its buyer's household (None without a household cap)."""
    await session.execute(
        text(
            "INSERT INTO campaign_purchases (id, campaign_id, wallet_id, sets, price, points, "
            "entry_id, household) SELECT * FROM unnest(CAST(:ids AS text[]), "
            "CAST(:campaigns AS text[]), CAST(:wallets AS text[]), CAST(:sets AS integer[]), "
            "CAST(:prices AS bigint[]), CAST(:points AS bigint[]), CAST(:entries AS bigint[]), "
            "CAST(:households AS text[]))"
        ),
        {
            "ids": [p.id for p, _ in purchases],
            "campaigns": [p.campaign_id for p, _ in purchases],
            "wallets": [p.wallet_id for p, _ in purchases],
            "sets": [p.sets for p, _ in purchases],
            "prices": [p.price for p, _ in purchases],
            "points": [p.points for p, _ in purchases],
            "entries": [p.entry_id for p, _ in purchases],
            "households": [h for _, h in purchases],
        },
    )


async def sets_sold(session: AsyncSession, campaign_id: str) -> int:
    result = await session.execute(
        text("SELECT coalesce(sum(sets), 0) FROM campaign_purchases WHERE campaign_id = :c"),
        {"c": campaign_id},
    )
    return int(result.scalar_one())


async def all_campaigns(session: AsyncSession) -> list[Campaign]:
    result = await session.execute(text(f"{_CAMPAIGN} ORDER BY c.id"))
    return [_campaign(row) for row in result]


async def region_campaigns(session: AsyncSession, region: str) -> list[Campaign]:
    result = await session.execute(
        text(f"{_CAMPAIGN} WHERE c.region_code = :region ORDER BY c.id"), {"region": region}
    )
    return [_campaign(row) for row in result]


async def campaigns_page(
    session: AsyncSession, *, region: str | None, after: str | None, limit: int
) -> list[Campaign]:
    """Up to `limit` campaigns in id order after `after` (of one region, or all)."""
    result = await session.execute(
        text(
            f"{_CAMPAIGN} WHERE (CAST(:region AS text) IS NULL OR c.region_code = :region) "
            "AND (CAST(:after AS text) IS NULL OR c.id > :after) ORDER BY c.id LIMIT :limit"
        ),
        {"region": region, "after": after, "limit": limit},
    )
    return [_campaign(row) for row in result]


async def wallet_standings(
    session: AsyncSession, region: str, wallet_id: str
) -> dict[str, tuple[Progress, Standing]]:
    """Per campaign of the region, where it stands and the wallet's part in it, in one query."""
    result = await session.execute(
        text(
            "SELECT c.id, l.drawn_at, "
            "(SELECT coalesce(sum(p.sets), 0) FROM campaign_purchases p "
            "WHERE p.campaign_id = c.id) AS sets_sold, "
            "(SELECT max(r.purchase_until) FROM campaign_rounds r "
            "WHERE r.campaign_id = c.id) AS last_round_until, "
            "a.id AS application_id, a.sets AS applied_sets, "
            "g.sets AS won_sets, w.purchase_from, w.purchase_until, "
            "(SELECT coalesce(sum(p.sets), 0) FROM campaign_purchases p "
            "WHERE p.campaign_id = c.id AND p.wallet_id = :wallet) AS sets_bought, "
            "t.earned, b.points AS received "
            "FROM campaigns c "
            "LEFT JOIN campaign_lotteries l ON l.campaign_id = c.id "
            "LEFT JOIN campaign_applications a ON a.campaign_id = c.id AND a.wallet_id = :wallet "
            "LEFT JOIN campaign_grants g ON g.application_id = a.id "
            "LEFT JOIN campaign_rounds w ON w.campaign_id = g.campaign_id AND w.round = g.round "
            "LEFT JOIN spend_back_totals t ON t.campaign_id = c.id AND t.wallet_id = :wallet "
            "LEFT JOIN benefit_payouts b ON b.campaign_id = c.id AND b.wallet_id = :wallet "
            "WHERE c.region_code = :region"
        ),
        {"region": region, "wallet": wallet_id},
    )
    found: dict[str, tuple[Progress, Standing]] = {}
    for row in result:
        progress = Progress(int(row.sets_sold), row.drawn_at is not None, row.last_round_until)
        application = (
            Application(row.application_id, wallet_id, row.applied_sets)
            if row.application_id is not None
            else None
        )
        won = (
            WonSets(row.won_sets, row.purchase_from, row.purchase_until)
            if row.won_sets is not None
            else None
        )
        standing = Standing(
            application=application,
            won=won,
            sets_bought=int(row.sets_bought),
            points_earned=None if row.earned is None else int(row.earned),
            points_received=None if row.received is None else int(row.received),
        )
        found[row.id] = (progress, standing)
    return found


async def expired_lots(session: AsyncSession, campaign_id: str, at: datetime) -> list[Row[Any]]:
    """The campaign's lots expired by `at` that still hold points available."""
    result = await session.execute(
        text(
            "SELECT id, code, posted_balance - pending_holds AS available FROM accounts "
            "WHERE lot_kind IN ('premium', 'benefit') AND expires_at <= :at "
            "AND posted_balance - pending_holds > 0 AND code LIKE :pattern ORDER BY id"
        ),
        {"at": at, "pattern": f"wallet:%:{campaign_id}:%"},
    )
    return list(result)


# Spend-back


async def lock_earned(
    session: AsyncSession, persons: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """What each (campaign, wallet) has earned from a spend-back campaign so far, their rows
    locked (in one order, so batches never wait on each other in a circle) so one person's
    rewards are worked out one at a time."""
    wanted = sorted(set(persons))
    params = {"campaigns": [c for c, _ in wanted], "wallets": [w for _, w in wanted]}
    pairs = "unnest(CAST(:campaigns AS text[]), CAST(:wallets AS text[]))"
    await session.execute(
        text(
            "INSERT INTO spend_back_totals (campaign_id, wallet_id, earned) "
            f"SELECT c, w, 0 FROM {pairs} AS p(c, w) ON CONFLICT DO NOTHING"
        ),
        params,
    )
    result = await session.execute(
        text(
            "SELECT campaign_id, wallet_id, earned FROM spend_back_totals "
            f"WHERE (campaign_id, wallet_id) IN (SELECT c, w FROM {pairs} AS p(c, w)) "
            "ORDER BY campaign_id, wallet_id FOR UPDATE"
        ),
        params,
    )
    return {(row.campaign_id, row.wallet_id): int(row.earned) for row in result}


async def add_earned_many(session: AsyncSession, added: Mapping[tuple[str, str], int]) -> None:
    """Add to the totals of (campaign, wallet), each given once."""
    await session.execute(
        text(
            "UPDATE spend_back_totals t SET earned = t.earned + a.points FROM unnest("
            "CAST(:campaigns AS text[]), CAST(:wallets AS text[]), CAST(:points AS bigint[])) "
            "AS a(campaign_id, wallet_id, points) "
            "WHERE t.campaign_id = a.campaign_id AND t.wallet_id = a.wallet_id"
        ),
        {
            "campaigns": [c for c, _ in added],
            "wallets": [w for _, w in added],
            "points": list(added.values()),
        },
    )


async def add_earned(session: AsyncSession, campaign_id: str, wallet_id: str, points: int) -> None:
    await session.execute(
        text(
            "UPDATE spend_back_totals SET earned = earned + :points "
            "WHERE campaign_id = :campaign AND wallet_id = :wallet"
        ),
        {"campaign": campaign_id, "wallet": wallet_id, "points": points},
    )


@dataclass(frozen=True, slots=True)
class NewReward:
    campaign_id: str
    payment_entry_id: int
    wallet_id: str
    payment_amount: int
    points: int
    entry_id: int


async def insert_rewards(session: AsyncSession, rewards: Sequence[NewReward]) -> None:
    await session.execute(
        text(
            "INSERT INTO spend_back_rewards (campaign_id, payment_entry_id, wallet_id, "
            "payment_amount, points, entry_id) SELECT * FROM unnest(CAST(:campaigns AS text[]), "
            "CAST(:payments AS bigint[]), CAST(:wallets AS text[]), CAST(:amounts AS bigint[]), "
            "CAST(:points AS bigint[]), CAST(:entries AS bigint[]))"
        ),
        {
            "campaigns": [r.campaign_id for r in rewards],
            "payments": [r.payment_entry_id for r in rewards],
            "wallets": [r.wallet_id for r in rewards],
            "amounts": [r.payment_amount for r in rewards],
            "points": [r.points for r in rewards],
            "entries": [r.entry_id for r in rewards],
        },
    )


async def lock_rewards_of(session: AsyncSession, payment_entry_id: int) -> list[Row[Any]]:
    result = await session.execute(
        text(
            "SELECT campaign_id, wallet_id, payment_amount, points, clawed_back "
            "FROM spend_back_rewards WHERE payment_entry_id = :payment "
            "ORDER BY campaign_id FOR UPDATE"
        ),
        {"payment": payment_entry_id},
    )
    return list(result)


async def add_clawed_back(
    session: AsyncSession, campaign_id: str, payment_entry_id: int, points: int
) -> None:
    await session.execute(
        text(
            "UPDATE spend_back_rewards SET clawed_back = clawed_back + :points "
            "WHERE campaign_id = :campaign AND payment_entry_id = :payment"
        ),
        {"campaign": campaign_id, "payment": payment_entry_id, "points": points},
    )


# Benefits


async def paid_out(session: AsyncSession, campaign_id: str, wallet_ids: list[str]) -> set[str]:
    result = await session.execute(
        text(
            "SELECT wallet_id FROM benefit_payouts WHERE campaign_id = :campaign "
            "AND wallet_id = ANY(:wallets)"
        ),
        {"campaign": campaign_id, "wallets": wallet_ids},
    )
    return set(result.scalars())


async def insert_payouts(
    session: AsyncSession, campaign_id: str, payouts: list[tuple[str, int, int]]
) -> None:
    """(wallet id, points, entry id) of each benefit paid."""
    await session.execute(
        text(
            "INSERT INTO benefit_payouts (campaign_id, wallet_id, points, entry_id) "
            "VALUES (:campaign, :wallet, :points, :entry)"
        ),
        [
            {"campaign": campaign_id, "wallet": wallet, "points": points, "entry": entry}
            for wallet, points, entry in payouts
        ],
    )


# The report


async def lot_flows(session: AsyncSession, campaign: Campaign) -> list[Row[Any]]:
    """Per lot name (local, general, reward, benefit) and entry kind, the net points posted to
    the campaign's lots, and the part of it whose entry paid (or refunded from) a local shop.
    Which shops are local is the merchants' table's to say."""
    result = await session.execute(
        text(
            "SELECT split_part(a.code, ':', 4) AS lot, e.kind, sum(p.amount) AS net, "
            "coalesce(sum(p.amount) FILTER (WHERE EXISTS (SELECT 1 FROM postings q "
            "JOIN merchants m ON m.account_id = q.account_id "
            "WHERE q.entry_id = p.entry_id AND m.size_class = 'local')), 0) AS net_local "
            "FROM accounts a JOIN postings p ON p.account_id = a.id "
            "JOIN journal_entries e ON e.id = p.entry_id "
            "WHERE a.currency = :currency AND a.code LIKE :pattern GROUP BY 1, 2"
        ),
        {"currency": campaign.currency, "pattern": f"wallet:%:{campaign.id}:%"},
    )
    return list(result)


async def budget_returned(session: AsyncSession, campaign: Campaign) -> int:
    result = await session.execute(
        text(
            "SELECT coalesce(sum(-p.amount), 0) FROM postings p "
            "JOIN journal_entries e ON e.id = p.entry_id "
            "WHERE p.account_id = :budget AND e.metadata ? 'budget_return'"
        ),
        {"budget": campaign.budget_account_id},
    )
    return int(result.scalar_one())


async def participation(session: AsyncSession, campaign_id: str) -> Row[Any]:
    """Counts of the campaign's applications, grants, purchases, rewards and payouts."""
    result = await session.execute(
        text(
            "SELECT "
            "(SELECT count(*) FROM campaign_applications WHERE campaign_id = :c) AS applications,"
            "(SELECT coalesce(sum(sets), 0) FROM campaign_applications WHERE campaign_id = :c) "
            "AS sets_applied,"
            "(SELECT count(*) FROM campaign_grants WHERE campaign_id = :c) AS winners,"
            "(SELECT coalesce(sum(sets), 0) FROM campaign_grants WHERE campaign_id = :c) "
            "AS sets_granted,"
            "(SELECT count(*) FROM campaign_purchases WHERE campaign_id = :c) AS purchases,"
            "(SELECT count(DISTINCT wallet_id) FROM campaign_purchases WHERE campaign_id = :c) "
            "AS buyers,"
            "(SELECT coalesce(sum(sets), 0) FROM campaign_purchases WHERE campaign_id = :c) "
            "AS sets_sold,"
            "(SELECT count(*) FROM spend_back_rewards WHERE campaign_id = :c) AS rewards,"
            "(SELECT count(DISTINCT wallet_id) FROM spend_back_rewards WHERE campaign_id = :c) "
            "AS rewarded_people,"
            "(SELECT coalesce(sum(clawed_back), 0) FROM spend_back_rewards WHERE campaign_id = :c) "
            "AS taken_back,"
            "(SELECT count(*) FROM benefit_payouts WHERE campaign_id = :c) AS benefit_payouts"
        ),
        {"c": campaign_id},
    )
    return result.one()
