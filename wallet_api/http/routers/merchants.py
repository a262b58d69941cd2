"""HTTP endpoints of merchants and their terminals (`/v1/merchants`). The merchant package holds
the rules; its endpoints sit here, beside the authentication they depend on, since dependencies
point down only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from merchant import service
from merchant.settlement import service as settlement
from wallet_api.devices.service import decode_base64url
from wallet_api.http.deps import SessionDep
from wallet_api.http.idempotency import idempotent
from wallet_api.http.roles import AnyRole, Operator, OperatorOrAuditor, Staff, StaffOrOperator
from wallet_api.http.schemas.merchants import (
    MerchantAccountOut,
    MerchantCreate,
    MerchantList,
    MerchantOut,
    QrCodeOut,
    ShopProfileOut,
    StatusChange,
    TerminalList,
    TerminalOut,
    TerminalRegister,
)
from wallet_api.payments.service import merchant_for

router = APIRouter(prefix="/v1/merchants", tags=["merchants"])


@router.post("", status_code=201)
@idempotent
async def onboard_merchant(
    body: MerchantCreate,
    session: SessionDep,
    actor: Operator,
) -> MerchantOut:
    """Onboard a shop: names (the katakana one for bank transfers), category (MCC and JSIC),
    district, size class, payout bank account; its ledger account is opened with it."""
    return MerchantOut.of(await service.onboard_merchant(session, body.profile()))


@router.get("")
async def list_merchants(
    session: SessionDep,
    actor: OperatorOrAuditor,
    region: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    after: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> MerchantList:
    """The shops in id order, a page at a time, of one region or of all, with their status:
    for operators and auditors."""
    return MerchantList.of(
        await service.list_merchants(session, region=region, after=after, limit=limit)
    )


@router.get("/{merchant_id}")
async def read_merchant(
    merchant_id: str, session: SessionDep, actor: StaffOrOperator
) -> MerchantOut:
    return MerchantOut.of(await merchant_for(session, actor, merchant_id))


@router.get("/{merchant_id}/account")
async def read_account(
    merchant_id: str, session: SessionDep, actor: StaffOrOperator
) -> MerchantAccountOut:
    """The shop's points (posted, held by payouts on their way, available), its region's payout
    schedule with the next payout day, and its latest payouts with their batches' state."""
    merchant = await merchant_for(session, actor, merchant_id)
    return MerchantAccountOut.of(await settlement.shop_account(session, merchant))


@router.get("/{merchant_id}/profile")
async def shop_profile(merchant_id: str, session: SessionDep, actor: AnyRole) -> ShopProfileOut:
    """What a payer sees of a shop before paying it: its name, category, district, whether it
    is a local shop (local-only points are spent only at one) and whether it takes payments."""
    return ShopProfileOut.of(await service.get_merchant(session, merchant_id))


@router.post("/{merchant_id}/suspension")
@idempotent
async def suspend_merchant(
    merchant_id: str, body: StatusChange, session: SessionDep, actor: Operator
) -> MerchantOut:
    """Suspend a shop: it takes no payments from now on (`merchant_suspended`); refunds to its
    customers and its payouts go on. The change is kept with the operator and the reason."""
    merchant = await service.set_status(
        session, merchant_id, "suspended", reason=body.reason, changed_by=actor.subject
    )
    return MerchantOut.of(merchant)


@router.post("/{merchant_id}/reinstatement")
@idempotent
async def reinstate_merchant(
    merchant_id: str, body: StatusChange, session: SessionDep, actor: Operator
) -> MerchantOut:
    """Let a suspended shop take payments again."""
    merchant = await service.set_status(
        session, merchant_id, "active", reason=body.reason, changed_by=actor.subject
    )
    return MerchantOut.of(merchant)


@router.get("/{merchant_id}/qr")
async def static_qr(
    merchant_id: str, request: Request, session: SessionDep, actor: StaffOrOperator
) -> QrCodeOut:
    """The shop's printed code (static: the customer types the amount), signed by the
    platform, as its EMV payload and as PNG and SVG for printing."""
    merchant = await merchant_for(session, actor, merchant_id)
    payload = service.static_code(merchant, request.app.state.platform_key)
    return QrCodeOut.of(payload)


@router.post("/{merchant_id}/terminals", status_code=201)
@idempotent
async def register_terminal(
    merchant_id: str,
    body: TerminalRegister,
    session: SessionDep,
    actor: Staff,
) -> TerminalOut:
    """Register a till's or tablet's Ed25519 public key; the server never sees its private key."""
    merchant = await merchant_for(session, actor, merchant_id)
    key = decode_base64url(body.public_key, what="public_key", length=32)
    terminal = await service.register_terminal(session, merchant, label=body.label, public_key=key)
    return TerminalOut.of(terminal)


@router.get("/{merchant_id}/terminals")
async def list_terminals(
    merchant_id: str, session: SessionDep, actor: StaffOrOperator
) -> TerminalList:
    merchant = await merchant_for(session, actor, merchant_id)
    terminals = await service.merchant_terminals(session, merchant)
    return TerminalList(terminals=[TerminalOut.of(t) for t in terminals])


@router.post("/{merchant_id}/terminals/{terminal_id}/revoke")
@idempotent
async def revoke_terminal(
    merchant_id: str,
    terminal_id: str,
    session: SessionDep,
    actor: StaffOrOperator,
) -> TerminalOut:
    """Revoke a lost or retired terminal: codes it signs are refused from now on."""
    merchant = await merchant_for(session, actor, merchant_id)
    return TerminalOut.of(await service.revoke_terminal(session, merchant, terminal_id))
