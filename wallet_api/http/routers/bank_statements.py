"""HTTP endpoints of the region's bank statements."""

from __future__ import annotations

from fastapi import APIRouter

from wallet_api.bank_topups import service
from wallet_api.http.deps import SessionDep
from wallet_api.http.idempotency import idempotent
from wallet_api.http.roles import Operator, OperatorOrAuditor
from wallet_api.http.schemas.bank_statements import ImportOut, ReportOut, StatementCreate

router = APIRouter(prefix="/v1/regions/{region}", tags=["bank statements"])


@router.post("/bank-statements", status_code=201)
@idempotent
async def import_statement(
    region: str,
    body: StatementCreate,
    session: SessionDep,
    actor: Operator,
) -> ImportOut:
    """Import a statement of the region's bank account: transfers in credit the bank top-ups
    they name (same reference, same amount), transfers out are matched to payout batches (same
    date, same total). A line seen before is not matched twice; the same file twice changes
    nothing. The answer reports what matches nothing, on either side."""
    done = await service.import_statement(session, region, body.csv.encode())
    return ImportOut.of(done)


@router.get("/bank-reconciliation")
async def reconciliation(region: str, session: SessionDep, actor: OperatorOrAuditor) -> ReportOut:
    """What matches nothing: statement lines, bank top-ups and payout batches."""
    return ReportOut.of(await service.report(session, region))
