"""HTTP endpoints of the city hall counter: shifts, invoices and paying them."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from city_hall import service
from wallet_api.http.deps import SessionDep
from wallet_api.http.idempotency import idempotent
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


@router.post("/counters/{counter_id}/shifts", status_code=201)
@idempotent
async def open_shift(
    counter_id: str,
    session: SessionDep,
    actor: CounterCashier,
) -> ShiftOut:
    """The cashier opens the counter's shift for today (one open shift a counter)."""
    shift = await service.open_shift(session, counter_id, cashier=actor.subject)
    return ShiftOut.of(shift)


@router.post("/counters/{counter_id}/invoices", status_code=201)
@idempotent
async def create_invoice(
    counter_id: str,
    body: InvoiceCreate,
    request: Request,
    session: SessionDep,
    actor: CounterCashier,
) -> ShownInvoiceOut:
    """An invoice of procedures at today's fees, and the code the counter shows for its total
    (valid 15 minutes, paid once)."""
    shown = await invoices.show_invoice(
        session,
        counter_id,
        [(line.procedure, line.quantity) for line in body.lines],
        request.app.state.platform_key,
    )
    return ShownInvoiceOut.of(shown)


@router.get("/invoices/{invoice_id}")
async def read_invoice(
    invoice_id: str, session: SessionDep, actor: CashierOrOperator
) -> InvoiceOut:
    """An invoice and whether it is paid (the counter's screen polls this)."""
    return InvoiceOut.of(await invoices.invoice_for(session, actor, invoice_id))


@router.post("/fee-payments", status_code=201)
@idempotent(grouped=True)
async def pay_fees(
    body: CodePayment,
    request: Request,
    session: SessionDep,
    actor: Holder,
) -> FeeReceiptOut:
    """Pay the invoice a city counter shows (its code's payee is `counter:<id>`), with an intent
    signed by a device of the wallet; the answer is the numbered receipt."""
    paid = await invoices.pay_invoice(
        session,
        actor,
        qr_payload=body.qr_payload,
        intent=body.intent.intent(),
        signature=body.signature,
        platform_key=request.app.state.platform_key.verify_key,
    )
    return FeeReceiptOut.of(paid)


@router.post("/invoices/{invoice_id}/card-payments", status_code=201)
@idempotent(grouped=True)
async def pay_invoice_by_card(
    invoice_id: str,
    body: CardPin,
    session: SessionDep,
    actor: Cashier,
) -> FeeReceiptOut:
    """The cashier scans the resident's printed card and the resident types the PIN."""
    paid = await invoices.pay_invoice_by_card(
        session, actor, invoice_id, card_payload=body.qr_payload, pin=body.pin
    )
    return FeeReceiptOut.of(paid)


@router.post("/invoices/{invoice_id}/cancellations", status_code=201)
@idempotent(grouped=True)
async def cancel_procedure(
    invoice_id: str,
    body: CancellationIn,
    session: SessionDep,
    actor: Supervisor,
) -> FeeRefundOut:
    """Cancel a paid procedure and refund its fee to the wallet (a supervisor's approval)."""
    refund = await service.cancel_procedure(
        session, invoice_id, body.line_no, reason=body.reason, approved_by=actor.subject
    )
    return FeeRefundOut.of(refund)


@router.post("/counters/{counter_id}/shifts/close")
@idempotent
async def close_shift(
    counter_id: str,
    session: SessionDep,
    actor: CounterCashier,
) -> CloseReport:
    """Close the shift: counts and totals per procedure and department, refunds, and the
    ledger's own totals for the counter and day beside them (`matches` says if they agree)."""
    report = await service.close_shift(session, counter_id)
    return CloseReport(report=report)


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
