"""HTTP endpoints of the city hall counter: shifts, invoices and paying them."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from city_hall import service
from wallet_api.actor import Role
from wallet_api.errors import Forbidden
from wallet_api.http.deps import SessionDep
from wallet_api.http.event_stream import event_stream
from wallet_api.http.idempotency import idempotent
from wallet_api.http.roles import (
    Cashier,
    CashierOrOperator,
    CityHallOverseer,
    CounterCashier,
    CounterCashierOrOperator,
    Holder,
    ReceiptReader,
    Supervisor,
)
from wallet_api.http.schemas.city_hall import (
    CancellationIn,
    CardPin,
    CloseReport,
    CounterInvoiceOut,
    CounterNowOut,
    FeeReceiptOut,
    FeeRefundOut,
    InvoiceCreate,
    InvoiceOut,
    ReceiptRecordOut,
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


@router.get("/counters/{counter_id}/now")
async def counter_now(
    counter_id: str, request: Request, session: SessionDep, actor: CounterCashierOrOperator
) -> CounterNowOut:
    """The counter as its screens show it: the shift open, if any, and that shift's newest
    invoice (its code while payable, its receipt once paid). The cashier's screen and the
    display facing the resident read this when they open, and after their stream drops."""
    now, shown = await invoices.counter_now(session, counter_id, request.app.state.platform_key)
    return CounterNowOut.of(now, shown)


@router.get(
    "/counters/{counter_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def counter_events(
    counter_id: str, request: Request, session: SessionDep, actor: CounterCashierOrOperator
) -> StreamingResponse:
    """Server-sent events: an `event: invoice` with the invoice as the screens show it
    (`CounterInvoiceOut`) when one is made at the counter and again when it is paid. The first
    line, `: listening`, says the stream is live; after a drop, reconnect and read `/now`. At
    most 20 streams a counter per API process."""
    counter = await service.get_counter(session, counter_id)
    await session.close()  # the stream must not hold a pooled connection idle in a transaction
    state = request.app.state

    async def invoice_event(reader: AsyncSession, invoice_id: str) -> str | None:
        shown = await invoices.counter_invoice(reader, invoice_id, state.platform_key)
        data = CounterInvoiceOut.of(shown).model_dump_json()
        return f"id: {invoice_id}\nevent: invoice\ndata: {data}\n\n"

    return await event_stream(state.counter_notifier, counter.id, state.sessions, invoice_event)


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
        platform_keys=request.app.state.key_rings.platform.public,
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


@router.get("/fee-receipts/{label}")
async def find_fee_receipt(
    label: str, session: SessionDep, actor: ReceiptReader
) -> ReceiptRecordOut:
    """A receipt by what its paper says (<counter>-<fiscal year>-<number>): the invoice it paid
    and the lines refunded since, for the supervisor who cancels a line of it. A cashier finds
    only their own counter's receipts."""
    record = await service.find_receipt(session, label)
    if actor.has(Role.CASHIER) and not actor.is_cashier_at(record.receipt.counter_id):
        raise Forbidden("a cashier finds the receipts of their own counter")
    return ReceiptRecordOut.of(record)


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
    actor: CityHallOverseer,
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
