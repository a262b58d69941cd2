"""HTTP endpoints of premium-point campaigns."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from campaigns import service
from ledger.domain import utc_now
from wallet_api.auth import Allow, Principal, Role
from wallet_api.campaigns.schemas import (
    CampaignOut,
    PremiumCampaignCreate,
    PurchaseCreate,
    PurchaseOut,
)
from wallet_api.deps import IdempotencyKeyHeader, SessionDep
from wallet_api.idempotency import respond_once
from wallet_api.wallets import repository as wallet_repository
from wallet_api.wallets import service as wallets
from wallet_api.wallets.domain import WalletKind

router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"])

Admin = Annotated[Principal, Depends(Allow(Role.CAMPAIGN_ADMIN))]
Holder = Annotated[Principal, Depends(Allow(Role.RESIDENT, Role.VISITOR))]
AnyRole = Annotated[Principal, Depends(Allow(*Role))]


@router.post("", status_code=201, response_model=CampaignOut)
async def create_campaign(
    body: PremiumCampaignCreate,
    request: Request,
    session: SessionDep,
    principal: Admin,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """A premium-set campaign; every number is a setting. The city funds its budget (the
    premium of all its sets) at once."""

    async def operation() -> tuple[int, CampaignOut]:
        campaign = await service.create_premium_campaign(
            session,
            campaign_id=body.id,
            region=body.region,
            name=body.name,
            settings=body.settings(),
        )
        return 201, CampaignOut.of(campaign)

    return await respond_once(request, session, principal, idempotency_key, body, operation)


@router.get("/{campaign_id}")
async def read_campaign(campaign_id: str, session: SessionDep, principal: AnyRole) -> CampaignOut:
    return CampaignOut.of(await service.get_campaign(session, campaign_id))


@router.post("/{campaign_id}/purchases", status_code=201, response_model=PurchaseOut)
async def buy_sets(
    campaign_id: str,
    body: PurchaseCreate,
    request: Request,
    session: SessionDep,
    principal: Holder,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Buy premium sets with the wallet's purchased points."""

    async def operation() -> tuple[int, PurchaseOut]:
        campaign = await service.get_campaign(session, campaign_id)
        wallet = await wallets.own_wallet(session, principal, body.wallet_id)
        # One person's purchases take turns, so each is counted against the cap.
        await wallet_repository.get_wallet(session, wallet.id, lock=True)
        purchase = await service.buy_sets(
            session,
            campaign,
            wallet_id=wallet.id,
            purchased_lot_id=wallet.purchased_lot_id,
            resident=wallet.kind is WalletKind.RESIDENT,
            sets=body.sets,
            now=utc_now(),
        )
        return 201, PurchaseOut.of(purchase)

    return await respond_once(request, session, principal, idempotency_key, body, operation)
