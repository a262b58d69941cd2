"""HTTP endpoints of the city hall counter: shifts, invoices and paying them."""

from __future__ import annotations

import base64
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from city_hall import service
from merchant.images import qr_png
from wallet_api.actor import Role
from wallet_api.errors import Forbidden
from wallet_api.http.deps import IdempotencyKeyHeader, SessionDep
from wallet_api.http.idempotency import respond_once
from wallet_api.http.roles import (
    Cashier,
    CashierOrOperator,
    CounterCashier,
    Holder,
    OperatorOrAuditor,
    Supervisor,
)
from wallet_api.http.schemas.city_hall import (
    CancellationIn,
    CardPin,
    CloseReport,
    FeeReceiptOut,
    FeeRefundOut,
    InvoiceCreate,
    InvoiceOut,
    ShiftOut,
    ShownInvoiceOut,
)
from wallet_api.http.schemas.payments import CodePayment
from wallet_api.payments import invoices

router = APIRouter(prefix="/v1", tags=["city hall"])


@router.post("/counters/{counter_id}/shifts", status_code=201, response_model=ShiftOut)
async def open_shift(
    counter_id: str,
    request: Request,
    session: SessionDep,
    actor: CounterCashier,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """The cashier opens the counter's shift for today (one open shift a counter)."""

    async def operation() -> tuple[int, ShiftOut]:
        shift = await service.open_shift(session, counter_id, cashier=actor.subject)
        return 201, ShiftOut(
            id=shift.id,
            counter_id=shift.counter_id,
            cashier=shift.cashier,
            business_date=shift.business_date,
            opened_at=shift.opened_at,
            closed_at=shift.closed_at,
        )

    return await respond_once(request, session, actor, idempotency_key, None, operation)


@router.post("/counters/{counter_id}/invoices", status_code=201, response_model=ShownInvoiceOut)
async def create_invoice(
    counter_id: str,
    body: InvoiceCreate,
    request: Request,
    session: SessionDep,
    actor: CounterCashier,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """An invoice of procedures at today's fees, and the code the counter shows for its total
    (valid 15 minutes, paid once)."""

    async def operation() -> tuple[int, ShownInvoiceOut]:
        shown = await invoices.show_invoice(
            session,
            counter_id,
            [(line.procedure, line.quantity) for line in body.lines],
            request.app.state.platform_key,
        )
        return 201, ShownInvoiceOut(
            invoice=InvoiceOut.of(shown.invoice),
            qr_payload=shown.qr_payload,
            png_base64=base64.b64encode(qr_png(shown.qr_payload)).decode(),
        )

    return await respond_once(request, session, actor, idempotency_key, body, operation)


@router.get("/invoices/{invoice_id}")
async def read_invoice(
    invoice_id: str, session: SessionDep, actor: CashierOrOperator
) -> InvoiceOut:
    """An invoice and whether it is paid (the counter's screen polls this)."""
    invoice = await service.get_invoice(session, invoice_id)
    if not actor.has(Role.OPERATOR) and actor.counter != invoice.counter_id:
        raise Forbidden("a cashier sees the invoices of their own counter")
    return InvoiceOut.of(invoice)


@router.post("/fee-payments", status_code=201, response_model=FeeReceiptOut)
async def pay_fees(
    body: CodePayment,
    request: Request,
    session: SessionDep,
    actor: Holder,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Pay the invoice a city counter shows (its code's payee is `counter:<id>`), with an intent
    signed by a device of the wallet; the answer is the numbered receipt."""

    async def operation() -> tuple[int, FeeReceiptOut]:
        paid = await invoices.pay_invoice(
            session,
            actor,
            qr_payload=body.qr_payload,
            intent=body.intent.intent(),
            signature=body.signature,
            platform_key=request.app.state.platform_key.verify_key,
        )
        return 201, FeeReceiptOut.of(paid)

    return await respond_once(request, session, actor, idempotency_key, body, operation)


@router.post("/invoices/{invoice_id}/card-payments", status_code=201, response_model=FeeReceiptOut)
async def pay_invoice_by_card(
    invoice_id: str,
    body: CardPin,
    request: Request,
    session: SessionDep,
    actor: Cashier,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """The cashier scans the resident's printed card and the resident types the PIN."""

    async def operation() -> tuple[int, FeeReceiptOut]:
        paid = await invoices.pay_invoice_by_card(
            session, actor, invoice_id, card_payload=body.qr_payload, pin=body.pin
        )
        return 201, FeeReceiptOut.of(paid)

    return await respond_once(request, session, actor, idempotency_key, body, operation)


@router.post("/invoices/{invoice_id}/cancellations", status_code=201, response_model=FeeRefundOut)
async def cancel_procedure(
    invoice_id: str,
    body: CancellationIn,
    request: Request,
    session: SessionDep,
    actor: Supervisor,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Cancel a paid procedure and refund its fee to the wallet (a supervisor's approval)."""

    async def operation() -> tuple[int, FeeRefundOut]:
        refund = await service.cancel_procedure(
            session, invoice_id, body.line_no, reason=body.reason, approved_by=actor.subject
        )
        return 201, FeeRefundOut(
            id=refund.id,
            invoice_id=refund.invoice.id,
            line_no=refund.line_no,
            amount=refund.amount,
            entry_id=refund.entry.id,
            receipt_number=refund.receipt_number,
            approved_by=refund.approved_by,
        )

    return await respond_once(request, session, actor, idempotency_key, body, operation)


@router.post("/counters/{counter_id}/shifts/close")
async def close_shift(
    counter_id: str,
    request: Request,
    session: SessionDep,
    actor: CounterCashier,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Close the shift: counts and totals per procedure and department, refunds, and the
    ledger's own totals for the counter and day beside them (`matches` says if they agree)."""

    async def operation() -> tuple[int, CloseReport]:
        report = await service.close_shift(session, counter_id)
        return 200, CloseReport(report=report)

    return await respond_once(request, session, actor, idempotency_key, None, operation)


@router.get(
    "/regions/{region}/fee-revenue.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def fee_revenue_csv(
    region: str,
    session: SessionDep,
    actor: OperatorOrAuditor,
    day: Annotated[date, Query(alias="date", description="The business date.")],
) -> Response:
    """The day's fee revenue per department and procedure, for the municipal accounting system:
    UTF-8 with BOM; columns business_date, department_code, department_name, procedure_code,
    procedure_name, quantity, gross_yen, refunded_yen, net_yen."""
    return Response(
        await service.revenue_csv(session, region, day),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="fee-revenue-{day}.csv"'},
    )
