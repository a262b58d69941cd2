"""HTTP endpoints of settlement: the regions' payout accounts, shops' payout requests, payout
batches with their Zengin files, and the bank's results."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from merchant.settlement import service
from wallet_api.http.deps import SessionDep
from wallet_api.http.idempotency import commits, idempotent
from wallet_api.http.roles import Operator, OperatorOrAuditor, Staff
from wallet_api.http.schemas.settlement import (
    BankResults,
    BatchCreate,
    BatchList,
    BatchOut,
    PayoutRequestOut,
    SettlementProfileIn,
    SettlementProfileOut,
)
from wallet_api.payments.service import staff_merchant

router = APIRouter(prefix="/v1", tags=["settlement"])


@router.put("/regions/{region}/settlement")
@commits
async def set_settlement_profile(
    region: str, body: SettlementProfileIn, session: SessionDep, actor: Operator
) -> SettlementProfileOut:
    """The account payouts are sent from and the payout days (31: the month's last day)."""
    profile = await service.set_profile(session, region, body.originator(), body.payout_days)
    return SettlementProfileOut.of(profile)


@router.get("/regions/{region}/settlement")
async def read_settlement_profile(
    region: str, session: SessionDep, actor: OperatorOrAuditor
) -> SettlementProfileOut:
    """The account payouts are sent from and the payout days; `unknown_settlement` until set."""
    return SettlementProfileOut.of(await service.get_profile(session, region))


@router.post("/merchants/{merchant_id}/payout-requests", status_code=201)
@idempotent
async def request_payout(
    merchant_id: str,
    request: Request,
    session: SessionDep,
    actor: Staff,
) -> PayoutRequestOut:
    """Ask to be paid out in the next batch, without waiting for a payout day."""
    merchant = await staff_merchant(session, actor, merchant_id)
    await service.request_payout(session, merchant.id)
    return PayoutRequestOut(merchant_id=merchant.id, requested=True)


@router.post("/regions/{region}/payout-batches", status_code=201)
@idempotent
async def run_payout_batch(
    region: str,
    body: BatchCreate,
    session: SessionDep,
    actor: Operator,
) -> BatchOut:
    """Pay out every shop with points available on a payout day (else those who asked): each
    payout holds the shop's available points, and the batch's Zengin file is written."""
    return BatchOut.of(await service.run_batch(session, region, body.transfer_date))


@router.get("/regions/{region}/payout-batches")
async def list_payout_batches(
    region: str,
    session: SessionDep,
    actor: OperatorOrAuditor,
    after: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> BatchList:
    """The region's payout batches, newest first, a page at a time, with their payouts counted
    by the bank's answer so far."""
    return BatchList.of(await service.list_batches(session, region, after=after, limit=limit))


@router.get("/payout-batches/{batch_id}")
async def read_payout_batch(
    batch_id: str, session: SessionDep, actor: OperatorOrAuditor
) -> BatchOut:
    return BatchOut.of(await service.get_batch(session, batch_id))


@router.get(
    "/payout-batches/{batch_id}/zengin",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def payout_file(batch_id: str, session: SessionDep, actor: Operator) -> Response:
    """The batch's Zengin 総合振込 file (CP932, records of 120 bytes, CR LF), for the bank."""
    run = await service.get_batch(session, batch_id)
    return Response(
        run.batch.file,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{batch_id}.txt"'},
    )


@router.post("/payout-batches/{batch_id}/results")
@idempotent
async def import_bank_results(
    batch_id: str,
    body: BankResults,
    session: SessionDep,
    actor: Operator,
) -> BatchOut:
    """The bank's result: a paid payout captures its hold, a failed one releases it. Importing
    the same result twice pays nothing twice."""
    return BatchOut.of(await service.import_results(session, batch_id, body.parsed()))
