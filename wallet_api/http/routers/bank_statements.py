"""HTTP endpoints of the region's bank statements."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from wallet_api.bank_topups import service
from wallet_api.http.auth import Allow, Principal, Role
from wallet_api.http.deps import IdempotencyKeyHeader, SessionDep
from wallet_api.http.idempotency import respond_once
from wallet_api.http.schemas.bank_statements import ImportOut, ReportOut, StatementCreate

router = APIRouter(prefix="/v1/regions/{region}", tags=["bank statements"])

Operator = Annotated[Principal, Depends(Allow(Role.OPERATOR))]
Reader = Annotated[Principal, Depends(Allow(Role.OPERATOR, Role.AUDITOR))]


@router.post("/bank-statements", status_code=201, response_model=ImportOut)
async def import_statement(
    region: str,
    body: StatementCreate,
    request: Request,
    session: SessionDep,
    principal: Operator,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Import a statement of the region's bank account: transfers in credit the bank top-ups
    they name (same reference, same amount), transfers out are matched to payout batches (same
    date, same total). A line seen before is not matched twice; the same file twice changes
    nothing. The answer reports what matches nothing, on either side."""

    async def operation() -> tuple[int, ImportOut]:
        done = await service.import_statement(session, region, body.csv.encode())
        return 201, ImportOut.of(done)

    return await respond_once(request, session, principal, idempotency_key, body, operation)


@router.get("/bank-reconciliation")
async def reconciliation(region: str, session: SessionDep, principal: Reader) -> ReportOut:
    """What matches nothing: statement lines, bank top-ups and payout batches."""
    return ReportOut.of(await service.report(session, region))
