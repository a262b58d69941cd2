"""HTTP endpoints of city hall: departments and the fee catalogue."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from city_hall.fees import service
from ledger.domain import business_date, utc_now
from wallet_api.http.deps import SessionDep
from wallet_api.http.idempotency import commits, idempotent
from wallet_api.http.roles import AnyRole, Operator, OperatorOrAuditor
from wallet_api.http.schemas.city_hall import (
    DepartmentIn,
    DepartmentList,
    DepartmentOut,
    FeeIn,
    FeeList,
    FeeOut,
    SampleLoad,
)

router = APIRouter(prefix="/v1/regions/{region}", tags=["city hall"])


@router.get("/departments")
async def list_departments(region: str, session: SessionDep, actor: AnyRole) -> DepartmentList:
    departments = await service.departments(session, region)
    return DepartmentList(departments=[DepartmentOut.of(d) for d in departments])


@router.post("/departments", status_code=201)
@idempotent
async def add_department(
    region: str,
    body: DepartmentIn,
    session: SessionDep,
    actor: Operator,
) -> DepartmentOut:
    """A department of city hall, with the revenue account its fees are booked to."""
    department = await service.add_department(
        session, region, body.code, body.name_ja, body.name_en
    )
    return DepartmentOut.of(department)


@router.get("/fees")
async def fee_catalogue(
    region: str,
    session: SessionDep,
    actor: AnyRole,
    on: Annotated[date | None, Query(description="The day (default: today in Japan).")] = None,
) -> FeeList:
    """The procedures and their fees in force on a day."""
    day = on or business_date(utc_now())
    return FeeList(fees=[FeeOut.of(v) for v in await service.catalogue(session, region, day)])


@router.put("/fees/{procedure}")
@commits
async def set_fee(
    region: str, procedure: str, body: FeeIn, session: SessionDep, actor: Operator
) -> FeeOut:
    """A procedure's fee from a date on (a new version: what was charged before stays)."""
    version = await service.set_fee(
        session,
        region,
        procedure,
        name_ja=body.name_ja,
        name_en=body.name_en,
        department_code=body.department,
        fee=body.fee,
        valid_from=body.valid_from,
        recorded_by=actor.subject,
    )
    return FeeOut.of(version)


@router.get("/fees/{procedure}/history")
async def fee_history(
    region: str, procedure: str, session: SessionDep, actor: OperatorOrAuditor
) -> FeeList:
    """Every version of a procedure's fee, in the order recorded, with who recorded it."""
    return FeeList(fees=[FeeOut.of(v) for v in await service.history(session, region, procedure)])


@router.post("/fees/sample", status_code=201)
@idempotent
async def load_sample_catalogue(
    region: str,
    body: SampleLoad,
    session: SessionDep,
    actor: Operator,
) -> FeeList:
    """Load the sample catalogue (26 common procedures, five departments), marked as sample
    data to be replaced by the city's own."""
    versions = await service.load_sample(
        session, region, valid_from=body.valid_from, recorded_by=actor.subject
    )
    return FeeList(fees=[FeeOut.of(v) for v in versions])
