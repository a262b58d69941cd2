"""HTTP endpoints of payments to shops."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger.errors import DomainError
from ledger.keys import PublicKeys
from wallet_api.http.deps import IdempotencyKeyHeader, SessionDep
from wallet_api.http.event_stream import event_stream
from wallet_api.http.grouping import RequestGroup
from wallet_api.http.idempotency import idempotent
from wallet_api.http.roles import Holder, Staff, StaffOrOperator
from wallet_api.http.schemas.payments import (
    B2BPayment,
    B2BPaymentOut,
    CardCharge,
    CodePayment,
    PaymentList,
    PaymentOut,
    PaymentReceiptOut,
    RefundCreate,
    RefundOut,
    TokenCharge,
)
from wallet_api.payments import service

router = APIRouter(prefix="/v1", tags=["payments"])

CodePayments = RequestGroup[service.CodeOrder, service.PaymentReceipt]


def code_payments(
    sessions: async_sessionmaker[AsyncSession], platform_keys: Callable[[], PublicKeys]
) -> CodePayments:
    """The process's group commit of code payments (`pay_code`), checking codes against the
    platform's keys as they stand when each batch runs (a key revoked meanwhile is refused)."""

    async def pay_codes(
        session: AsyncSession, orders: Sequence[service.CodeOrder]
    ) -> list[service.PaymentReceipt | DomainError]:
        return await service.pay_codes(session, orders, platform_keys=platform_keys())

    return RequestGroup(
        sessions,
        pay_codes,
        PaymentReceiptOut.of,
        name="code_payments",
        status_code=201,
    )


@router.post("/payments", status_code=201, response_model=PaymentReceiptOut)
async def pay_code(
    body: CodePayment,
    request: Request,
    actor: Holder,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Pay a scanned shop code. The app signs an intent (wallet, device, payee, amount, nonce,
    time) with its device key; the server checks the code's signature, expiry and single use,
    and the intent, then posts one entry from the wallet's eligible lots to the shop. Payments
    arriving together are committed together, each accepted or refused on its own."""
    order = service.CodeOrder(actor, body.qr_payload, body.intent.intent(), body.signature)
    payments: CodePayments = request.app.state.code_payments
    return await payments.submit(request, actor.subject, idempotency_key, body, order)


@router.post("/payments/{payment_id}/refunds", status_code=201)
@idempotent(grouped=True)
async def refund_payment(
    payment_id: str,
    body: RefundCreate,
    session: SessionDep,
    actor: Staff,
) -> RefundOut:
    """Refund all or part of a payment (the receiving shop's staff only, never beyond what is
    left of it); the points go back to the lots they came from, the lot spent last first."""
    refund = await service.refund_payment(session, actor, payment_id, body.amount)
    return RefundOut.of(refund)


@router.post("/merchants/{merchant_id}/charges/token", status_code=201)
@idempotent(grouped=True)
async def charge_token(
    merchant_id: str,
    body: TokenCharge,
    session: SessionDep,
    actor: Staff,
) -> PaymentReceiptOut:
    """Consumer-presented: charge the token the wallet app shows (signed by its device, good
    for two minutes, once, up to the amount the resident set)."""
    receipt = await service.charge_token(
        session,
        actor,
        merchant_id,
        token=body.token.intent(),
        signature=body.signature,
        amount=body.amount,
    )
    return PaymentReceiptOut.of(receipt)


@router.post("/merchants/{merchant_id}/charges/card", status_code=201)
@idempotent(grouped=True)
async def charge_card(
    merchant_id: str,
    body: CardCharge,
    session: SessionDep,
    actor: Staff,
) -> PaymentReceiptOut:
    """Charge a resident's printed card; the resident types the PIN."""
    receipt = await service.charge_card(
        session,
        actor,
        merchant_id,
        card_payload=body.qr_payload,
        pin=body.pin,
        amount=body.amount,
    )
    return PaymentReceiptOut.of(receipt)


@router.post("/merchants/{merchant_id}/b2b-payments", status_code=201)
@idempotent(grouped=True)
async def pay_another_shop(
    merchant_id: str,
    body: B2BPayment,
    session: SessionDep,
    actor: Staff,
    idempotency_key: IdempotencyKeyHeader = None,
) -> B2BPaymentOut:
    """Business to business: pay another shop of the region in points (counted as local
    re-circulation in the statistics)."""
    assert idempotency_key is not None  # @idempotent refuses a request without one
    paid = await service.pay_another_shop(
        session,
        actor,
        merchant_id,
        to_merchant=body.to_merchant,
        amount=body.amount,
        description=body.description,
        request_key=idempotency_key,
    )
    return B2BPaymentOut.of(paid)


@router.get("/merchants/{merchant_id}/payments")
async def merchant_payments(
    merchant_id: str,
    session: SessionDep,
    actor: StaffOrOperator,
    after: Annotated[datetime | None, Query(description="`next_after` of the last answer.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> PaymentList:
    """The shop's payments, oldest first: the polling fallback of the event stream. A payment
    is stamped when it is made and seen when it commits, so `next_after` stays a little behind
    the newest one and the next answer may repeat a payment or two: keep them by id."""
    page = await service.merchant_payments(session, actor, merchant_id, after=after, limit=limit)
    return PaymentList.of(page)


@router.get(
    "/merchants/{merchant_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def payment_events(
    merchant_id: str, request: Request, session: SessionDep, actor: StaffOrOperator
) -> StreamingResponse:
    """Server-sent events: an `event: payment` with the payment as `data` the moment one to
    this shop commits (a comment line every 15 seconds keeps the stream open). The first line,
    `: listening`, says the stream is live. After a drop, reconnect and poll `/payments` for
    what was missed. At most 20 streams a shop per API process."""
    merchant = await service.merchant_for(session, actor, merchant_id)
    await session.close()  # the stream must not hold a pooled connection idle in a transaction
    state = request.app.state
    return await event_stream(state.payment_notifier, merchant.id, state.sessions, _payment_event)


async def _payment_event(reader: AsyncSession, payment_id: str) -> str | None:
    payment = await service.find_payment(reader, payment_id)
    if payment is None:
        return None
    return f"id: {payment.id}\nevent: payment\ndata: {PaymentOut.of(payment).model_dump_json()}\n\n"
