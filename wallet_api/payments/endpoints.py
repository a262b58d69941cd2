"""HTTP endpoints of payments to shops."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from wallet_api.auth import Allow, Principal, Role
from wallet_api.deps import IdempotencyKeyHeader, SessionDep
from wallet_api.idempotency import respond_once
from wallet_api.merchants.endpoints import merchant_for
from wallet_api.payments import repository, service
from wallet_api.payments.schemas import CodePayment, PaymentList, PaymentOut, PaymentReceiptOut

router = APIRouter(prefix="/v1", tags=["payments"])

Holder = Annotated[Principal, Depends(Allow(Role.RESIDENT, Role.VISITOR))]
StaffOrOperator = Annotated[Principal, Depends(Allow(Role.MERCHANT_STAFF, Role.OPERATOR))]


@router.post("/payments", status_code=201, response_model=PaymentReceiptOut)
async def pay_code(
    body: CodePayment,
    request: Request,
    session: SessionDep,
    principal: Holder,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Pay a scanned shop code. The app signs an intent (wallet, device, payee, amount, nonce,
    time) with its device key; the server checks the code's signature, expiry and single use,
    and the intent, then posts one entry from the wallet's eligible lots to the shop."""

    async def operation() -> tuple[int, PaymentReceiptOut]:
        receipt = await service.pay_code(
            session,
            principal,
            qr_payload=body.qr_payload,
            intent=body.intent.intent(),
            signature=body.signature,
            platform_key=request.app.state.platform_key.verify_key,
        )
        return 201, PaymentReceiptOut.of(receipt)

    return await respond_once(request, session, principal, idempotency_key, body, operation)


@router.get("/merchants/{merchant_id}/payments")
async def merchant_payments(
    merchant_id: str,
    session: SessionDep,
    principal: StaffOrOperator,
    after: Annotated[
        datetime | None, Query(description="`created_at` of the last one seen.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> PaymentList:
    """The shop's payments, oldest first: the polling fallback of the event stream."""
    merchant = await merchant_for(session, principal, merchant_id)
    payments = await repository.merchant_payments(session, merchant.id, after=after, limit=limit)
    return PaymentList(payments=[PaymentOut.of(p) for p in payments])
