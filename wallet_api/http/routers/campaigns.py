"""HTTP endpoints of campaigns: premium sets with or without a lottery, spend-back, benefits,
their report, and the resident register campaigns read eligibility from."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import service
from campaigns.domain import Person
from ledger.domain import utc_now
from wallet_api.http.deps import IdempotencyKeyHeader, SessionDep
from wallet_api.http.idempotency import respond_once
from wallet_api.http.roles import AnyRole, CampaignAdmin, CampaignReader, Holder
from wallet_api.http.schemas.campaigns import (
    ApplicationCreate,
    ApplicationOut,
    BenefitPayoutCreate,
    BenefitPayoutOut,
    BudgetReturnOut,
    CampaignCreate,
    CampaignOut,
    LotteryOut,
    PurchaseCreate,
    PurchaseOut,
    ReportOut,
    ResidentRecordsCreate,
    ResidentRecordsOut,
    RoundCreate,
)
from wallet_api.wallets import repository as wallet_repository
from wallet_api.wallets import service as wallets
from wallet_api.wallets.domain import Wallet, WalletKind

router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"])
register_router = APIRouter(prefix="/v1/resident-register", tags=["campaigns"])


async def _person(session: AsyncSession, wallet: Wallet) -> Person:
    (found,) = await service.people(
        session, [(wallet.id, wallet.subject, wallet.kind is WalletKind.RESIDENT)]
    )
    return found


@router.post("", status_code=201, response_model=CampaignOut)
async def create_campaign(
    body: Annotated[CampaignCreate, Body()],
    request: Request,
    session: SessionDep,
    actor: CampaignAdmin,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """A campaign of one of three kinds (`kind`); every number is a setting. The city funds its
    budget at once. A premium-set campaign with an application window is sold by lottery: its
    seed's SHA-256 is published from now on."""

    async def operation() -> tuple[int, CampaignOut]:
        campaign = await service.create_campaign(
            session,
            campaign_id=body.id,
            region=body.region,
            name=body.name,
            terms=body.terms(),
            eligibility=body.eligibility.rules(),
        )
        return 201, CampaignOut.of(campaign)

    return await respond_once(request, session, actor, idempotency_key, body, operation)


@router.get("/{campaign_id}")
async def read_campaign(campaign_id: str, session: SessionDep, actor: AnyRole) -> CampaignOut:
    return CampaignOut.of(await service.get_campaign(session, campaign_id))


@router.post("/{campaign_id}/purchases", status_code=201, response_model=PurchaseOut)
async def buy_sets(
    campaign_id: str,
    body: PurchaseCreate,
    request: Request,
    session: SessionDep,
    actor: Holder,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Buy premium sets with the wallet's purchased points."""

    async def operation() -> tuple[int, PurchaseOut]:
        campaign = await service.get_campaign(session, campaign_id)
        wallet = await wallets.own_wallet(session, actor, body.wallet_id)
        # One person's purchases take turns, so each is counted against the cap.
        await wallet_repository.get_wallet(session, wallet.id, lock=True)
        purchase = await service.buy_sets(
            session,
            campaign,
            await _person(session, wallet),
            purchased_lot_id=wallet.purchased_lot_id,
            sets=body.sets,
            now=utc_now(),
        )
        return 201, PurchaseOut.of(purchase)

    return await respond_once(request, session, actor, idempotency_key, body, operation)


@router.post("/{campaign_id}/applications", status_code=201, response_model=ApplicationOut)
async def apply(
    campaign_id: str,
    body: ApplicationCreate,
    request: Request,
    session: SessionDep,
    actor: Holder,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Apply for sets of a lottery campaign, once per wallet, while applications are open."""

    async def operation() -> tuple[int, ApplicationOut]:
        campaign = await service.get_campaign(session, campaign_id)
        wallet = await wallets.own_wallet(session, actor, body.wallet_id)
        application = await service.apply(
            session, campaign, await _person(session, wallet), sets=body.sets, now=utc_now()
        )
        return 201, ApplicationOut.of(campaign.id, application)

    return await respond_once(request, session, actor, idempotency_key, body, operation)


@router.get("/{campaign_id}/lottery")
async def read_lottery(campaign_id: str, session: SessionDep, actor: AnyRole) -> LotteryOut:
    """The seed's hash; after the draw, the seed, every application and every round's
    winners: all that is needed to re-run the draw."""
    campaign = await service.get_campaign(session, campaign_id)
    return LotteryOut.of(await service.lottery(session, campaign))


@router.post("/{campaign_id}/lottery/draw", status_code=201, response_model=LotteryOut)
async def draw_lottery(
    campaign_id: str,
    request: Request,
    session: SessionDep,
    actor: CampaignAdmin,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Draw the first round once applications have closed, revealing the seed."""

    async def operation() -> tuple[int, LotteryOut]:
        campaign = await service.get_campaign(session, campaign_id)
        return 201, LotteryOut.of(await service.draw_lottery(session, campaign, now=utc_now()))

    return await respond_once(request, session, actor, idempotency_key, None, operation)


@router.post("/{campaign_id}/lottery/rounds", status_code=201, response_model=LotteryOut)
async def draw_next_round(
    campaign_id: str,
    body: RoundCreate,
    request: Request,
    session: SessionDep,
    actor: CampaignAdmin,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Offer the sets left unbought to the next applications down the ranking, once the last
    purchase window has closed."""

    async def operation() -> tuple[int, LotteryOut]:
        campaign = await service.get_campaign(session, campaign_id)
        drawn = await service.draw_next_round(
            session, campaign, purchase_until=body.purchase_until, now=utc_now()
        )
        return 201, LotteryOut.of(drawn)

    return await respond_once(request, session, actor, idempotency_key, body, operation)


@router.post("/{campaign_id}/benefit-payouts", status_code=201, response_model=BenefitPayoutOut)
async def pay_benefit(
    campaign_id: str,
    body: BenefitPayoutCreate,
    request: Request,
    session: SessionDep,
    actor: CampaignAdmin,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Credit the listed residents with the benefit: each eligible one once, whatever lists
    name them again; those not eligible or without a wallet in the region are reported."""

    async def operation() -> tuple[int, BenefitPayoutOut]:
        campaign = await service.get_campaign(session, campaign_id)
        subjects = list(dict.fromkeys(body.subjects))
        found = await wallet_repository.wallets_in_region(session, subjects, campaign.region)
        now = utc_now()
        usable = {s: w for s, w in found.items() if w.is_usable(now)}
        payout = await service.pay_benefit(
            session,
            campaign,
            await service.people(
                session,
                [(w.id, s, w.kind is WalletKind.RESIDENT) for s, w in usable.items()],
            ),
            now=now,
        )
        unpaid = {s: "no wallet in this region" for s in subjects if s not in found}
        unpaid |= {s: "the wallet is closed" for s in found if s not in usable}
        subject_of = {wallet.id: subject for subject, wallet in usable.items()}
        return 201, BenefitPayoutOut.of(payout, subject_of, unpaid)

    return await respond_once(request, session, actor, idempotency_key, body, operation)


@router.post("/{campaign_id}/budget-return", status_code=201, response_model=BudgetReturnOut)
async def return_budget(
    campaign_id: str,
    request: Request,
    session: SessionDep,
    actor: CampaignAdmin,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Once the campaign has closed, move what is left of its budget back to the city."""

    async def operation() -> tuple[int, BudgetReturnOut]:
        campaign = await service.get_campaign(session, campaign_id)
        returned = await service.return_budget(session, campaign, now=utc_now())
        return 201, BudgetReturnOut(campaign_id=campaign.id, returned=returned)

    return await respond_once(request, session, actor, idempotency_key, None, operation)


@router.get("/{campaign_id}/report")
async def read_report(campaign_id: str, session: SessionDep, actor: CampaignReader) -> ReportOut:
    """Applications, winners, sets sold, points issued by lot, spent at local shops and at all
    shops, breakage and the budget."""
    campaign = await service.get_campaign(session, campaign_id)
    return ReportOut.of(await service.report(session, campaign))


@register_router.post("", response_model=ResidentRecordsOut)
async def record_residents(
    body: ResidentRecordsCreate,
    request: Request,
    session: SessionDep,
    actor: CampaignAdmin,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Add or correct records of the city's resident register (household, district, birth
    date, by identity subject). Campaigns read them to decide age, district and household
    rules; nothing else does."""
    records = body.records_of_register()

    async def operation() -> tuple[int, ResidentRecordsOut]:
        await service.record_residents(session, records)
        return 200, ResidentRecordsOut(recorded=len(records))

    return await respond_once(request, session, actor, idempotency_key, body, operation)
