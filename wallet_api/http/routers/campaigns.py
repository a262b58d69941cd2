"""HTTP endpoints of campaigns: premium sets with or without a lottery, spend-back, benefits,
their report, and the resident register campaigns read eligibility from."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import service
from campaigns.domain import Purchase
from ledger.domain import utc_now
from wallet_api.errors import InvalidInput
from wallet_api.http.deps import IdempotencyKeyHeader, SessionDep
from wallet_api.http.grouping import RequestGroup
from wallet_api.http.idempotency import commits, idempotent
from wallet_api.http.roles import (
    AnyRole,
    CampaignAdmin,
    CampaignReader,
    Holder,
    HolderOrOperator,
)
from wallet_api.http.schemas.campaigns import (
    ApplicationCreate,
    ApplicationOut,
    BenefitPayoutCreate,
    BenefitPayoutOut,
    BudgetReturnOut,
    CampaignCreate,
    CampaignList,
    CampaignOut,
    LotteryOut,
    PurchaseCreate,
    PurchaseOut,
    ReportOut,
    ResidentRecordsCreate,
    ResidentRecordsOut,
    RoundCreate,
    WalletCampaignList,
    WalletCampaignOut,
)
from wallet_api.wallets import campaigns as wallet_campaigns

# Prefixed /v1 only: a wallet's campaigns sit under /v1/wallets.
router = APIRouter(prefix="/v1", tags=["campaigns"])
register_router = APIRouter(prefix="/v1/resident-register", tags=["campaigns"])


@router.post("/campaigns", status_code=201)
@idempotent
async def create_campaign(
    body: Annotated[CampaignCreate, Body()],
    session: SessionDep,
    actor: CampaignAdmin,
) -> CampaignOut:
    """A campaign of one of three kinds (`kind`); every number is a setting. The city funds its
    budget at once. A premium-set campaign with an application window is sold by lottery: its
    seed's SHA-256 is published from now on."""
    campaign = await service.create_campaign(
        session,
        campaign_id=body.id,
        region=body.region,
        name=body.name,
        terms=body.terms(),
        eligibility=body.eligibility.rules(),
    )
    return CampaignOut.of(campaign)


@router.put("/campaigns/{campaign_id}")
@commits
async def edit_campaign(
    campaign_id: str,
    body: Annotated[CampaignCreate, Body()],
    session: SessionDep,
    actor: CampaignAdmin,
) -> CampaignOut:
    """New settings for a campaign that has not opened (the whole body, as at creation: its
    `id` and `region` as they are). Its budget is topped up from the city's funds or given
    back. Refused `campaign_fixed` from an hour before it opens, or before the new settings
    would open it; its kind, and whether it is a lottery, stay as created."""
    if body.id != campaign_id:
        raise InvalidInput(f"the body is of campaign {body.id}, not {campaign_id}")
    campaign = await service.get_campaign(session, campaign_id)
    if body.region != campaign.region:
        raise InvalidInput(f"campaign {campaign_id} stays in region {campaign.region}")
    edited = await service.edit_campaign(
        session,
        campaign_id,
        name=body.name,
        terms=body.terms(),
        eligibility=body.eligibility.rules(),
        now=utc_now(),
    )
    return CampaignOut.of(edited)


@router.get("/campaigns")
async def list_campaigns(
    session: SessionDep,
    actor: CampaignReader,
    region: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    after: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CampaignList:
    """The campaigns in id order, a page at a time, of one region or of all: for the campaign
    office, economists and auditors."""
    return CampaignList.of(
        await service.list_campaigns(session, region=region, after=after, limit=limit)
    )


@router.get("/campaigns/{campaign_id}")
async def read_campaign(campaign_id: str, session: SessionDep, actor: AnyRole) -> CampaignOut:
    return CampaignOut.of(await service.get_campaign(session, campaign_id))


SetsPurchases = RequestGroup[wallet_campaigns.SetsPurchase, Purchase]


def sets_purchases(sessions: async_sessionmaker[AsyncSession]) -> SetsPurchases:
    """The process's group commit of premium-set purchases (`buy_sets`): on launch day the
    whole town buys in the sale's first minutes."""
    return RequestGroup(
        sessions,
        wallet_campaigns.buy_sets_many,
        PurchaseOut.of,
        name="sets_purchases",
        status_code=201,
    )


@router.post("/campaigns/{campaign_id}/purchases", status_code=201, response_model=PurchaseOut)
async def buy_sets(
    campaign_id: str,
    body: PurchaseCreate,
    request: Request,
    actor: Holder,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Buy premium sets with the wallet's purchased points. Purchases arriving together are
    committed together, each sold or refused on its own."""
    order = wallet_campaigns.SetsPurchase(actor, campaign_id, body.wallet_id, body.sets)
    purchases: SetsPurchases = request.app.state.sets_purchases
    return await purchases.submit(request, actor.subject, idempotency_key, body, order)


@router.post("/campaigns/{campaign_id}/applications", status_code=201)
@idempotent
async def apply(
    campaign_id: str,
    body: ApplicationCreate,
    session: SessionDep,
    actor: Holder,
) -> ApplicationOut:
    """Apply for sets of a lottery campaign, once per wallet, while applications are open."""
    application = await wallet_campaigns.apply(
        session, actor, campaign_id, wallet_id=body.wallet_id, sets=body.sets
    )
    return ApplicationOut.of(campaign_id, application)


@router.get("/campaigns/{campaign_id}/lottery")
async def read_lottery(campaign_id: str, session: SessionDep, actor: AnyRole) -> LotteryOut:
    """The seed's hash; after the draw, the seed, every application and every round's
    winners: all that is needed to re-run the draw."""
    campaign = await service.get_campaign(session, campaign_id)
    return LotteryOut.of(await service.lottery(session, campaign))


@router.post("/campaigns/{campaign_id}/lottery/draw", status_code=201)
@idempotent
async def draw_lottery(
    campaign_id: str,
    session: SessionDep,
    actor: CampaignAdmin,
) -> LotteryOut:
    """Draw the first round once applications have closed, revealing the seed."""
    campaign = await service.get_campaign(session, campaign_id)
    return LotteryOut.of(await service.draw_lottery(session, campaign, now=utc_now()))


@router.post("/campaigns/{campaign_id}/lottery/rounds", status_code=201)
@idempotent
async def draw_next_round(
    campaign_id: str,
    body: RoundCreate,
    session: SessionDep,
    actor: CampaignAdmin,
) -> LotteryOut:
    """Offer the sets left unbought to the next applications down the ranking, once the last
    purchase window has closed."""
    campaign = await service.get_campaign(session, campaign_id)
    drawn = await service.draw_next_round(
        session, campaign, purchase_until=body.purchase_until, now=utc_now()
    )
    return LotteryOut.of(drawn)


@router.post("/campaigns/{campaign_id}/benefit-payouts", status_code=201)
@idempotent
async def pay_benefit(
    campaign_id: str,
    body: BenefitPayoutCreate,
    session: SessionDep,
    actor: CampaignAdmin,
) -> BenefitPayoutOut:
    """Credit the listed residents with the benefit: each eligible one once, whatever lists
    name them again; those not eligible or without a wallet in the region are reported."""
    payout = await wallet_campaigns.pay_benefit(session, campaign_id, body.subjects)
    return BenefitPayoutOut.of(payout)


@router.post("/campaigns/{campaign_id}/benefit-payouts/preview")
async def preview_benefit(
    campaign_id: str,
    body: BenefitPayoutCreate,
    session: SessionDep,
    actor: CampaignAdmin,
) -> BenefitPayoutOut:
    """What paying this list would do, and nothing done: who would be paid now (`paid`), who
    was paid before, who is refused and why, and the points; refused as the payout itself
    would be (outside the payout window, a budget that cannot pay them all)."""
    payout = await wallet_campaigns.pay_benefit(session, campaign_id, body.subjects, preview=True)
    return BenefitPayoutOut.of(payout)


@router.post("/campaigns/{campaign_id}/budget-return", status_code=201)
@idempotent
async def return_budget(
    campaign_id: str,
    session: SessionDep,
    actor: CampaignAdmin,
) -> BudgetReturnOut:
    """Once the campaign has closed, move what is left of its budget back to the city."""
    campaign = await service.get_campaign(session, campaign_id)
    returned = await service.return_budget(session, campaign, now=utc_now())
    return BudgetReturnOut(campaign_id=campaign.id, returned=returned)


@router.get("/campaigns/{campaign_id}/report")
async def read_report(campaign_id: str, session: SessionDep, actor: CampaignReader) -> ReportOut:
    """Applications, winners, sets sold, points issued by lot, spent at local shops and at all
    shops, breakage and the budget."""
    campaign = await service.get_campaign(session, campaign_id)
    return ReportOut.of(await service.report(session, campaign))


@router.get("/wallets/{wallet_id}/campaigns")
async def read_wallet_campaigns(
    wallet_id: str, session: SessionDep, actor: HolderOrOperator
) -> WalletCampaignList:
    """The campaigns of the wallet's region it may still join (those it is not eligible for
    say why) or has a part in: their terms, the sets left, and the wallet's own standing
    (sets applied for, the lottery's outcome, sets bought, spend-back earned, benefit paid)."""
    found = await wallet_campaigns.wallet_campaigns(session, actor, wallet_id)
    return WalletCampaignList(
        wallet_id=wallet_id, campaigns=[WalletCampaignOut.of(view) for view in found]
    )


@register_router.post("")
@idempotent
async def record_residents(
    body: ResidentRecordsCreate,
    session: SessionDep,
    actor: CampaignAdmin,
) -> ResidentRecordsOut:
    """Add or correct records of the city's resident register (household, district, birth
    date, by identity subject). Campaigns read them to decide age, district and household
    rules; nothing else does."""
    records = body.records_of_register()
    await service.record_residents(session, records)
    return ResidentRecordsOut(recorded=len(records))
