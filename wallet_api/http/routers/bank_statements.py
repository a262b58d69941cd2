"""HTTP endpoints of the region's bank statements."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from wallet_api.bank_topups import service
from wallet_api.http.deps import IdempotencyKeyHeader, SessionDep
from wallet_api.http.idempotency import respond_once
from wallet_api.http.roles import Operator, OperatorOrAuditor
from wallet_api.http.schemas.bank_statements import ImportOut, ReportOut, StatementCreate

router = APIRouter(prefix="/v1/regions/{region}", tags=["bank statements"])


@router.post("/bank-statements", status_code=201, response_model=ImportOut)
async def import_statement(
    region: str,
    body: StatementCreate,
    request: Request,
    session: SessionDep,
    actor: Operator,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Import a statement of the region's bank account: transfers in credit the bank top-ups
    they name (same reference, same amount), transfers out are matched to payout batches (same
    date, same total). A line seen before is not matched twice; the same file twice changes
    nothing. The answer reports what matches nothing, on either side."""

    async def operation() -> tuple[int, ImportOut]:
        done = await service.import_statement(session, region, body.csv.encode())
        return 201, ImportOut.of(done)

    return await respond_once(request, session, actor, idempotency_key, body, operation)


@router.get("/bank-reconciliation")
async def reconciliation(region: str, session: SessionDep, actor: OperatorOrAuditor) -> ReportOut:
    """What matches nothing: statement lines, bank top-ups and payout batches."""
    return ReportOut.of(await service.report(session, region))
