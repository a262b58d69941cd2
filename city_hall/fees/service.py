"""The fee catalogue: departments with their revenue accounts, and procedures whose fees change
by ordinance from a date on. Each operation takes the caller's session and never commits."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from city_hall.errors import InvalidRequest, UnknownDepartment, UnknownProcedure
from city_hall.fees import repository, sample
from city_hall.fees.domain import Department, FeeVersion
from ledger import service as ledger
from ledger.domain import MAX_AMOUNT, AccountCategory, AccountSpec

_CODE = re.compile(r"[a-z][a-z0-9-]{1,39}")


async def add_department(
    session: AsyncSession, region: str, code: str, name_ja: str, name_en: str
) -> Department:
    """A department and its revenue account (or the existing one of that code)."""
    if not _CODE.fullmatch(code):
        raise InvalidRequest(f"a department code must match {_CODE.pattern}")
    existing = await repository.get_department(session, region, code)
    if existing is not None:
        return existing
    currency = await ledger.region_currency(session, region)
    account = await ledger.open_account(
        session,
        AccountSpec(currency, f"revenue:{code}", AccountCategory.SYSTEM, may_go_negative=False),
    )
    department = Department(region, code, name_ja, name_en, account.id)
    await repository.insert_department(session, department)
    return department


async def set_fee(
    session: AsyncSession,
    region: str,
    procedure_code: str,
    *,
    name_ja: str,
    name_en: str,
    department_code: str,
    fee: int,
    valid_from: date,
    recorded_by: str,
    sample_data: bool = False,
) -> FeeVersion:
    """A procedure's fee (and names, department) from `valid_from` on, as a new version; the
    versions before stay, and what was charged under them stays as it was."""
    if not _CODE.fullmatch(procedure_code):
        raise InvalidRequest(f"a procedure code must match {_CODE.pattern}")
    if isinstance(fee, bool) or not isinstance(fee, int) or not 0 < fee <= MAX_AMOUNT:
        raise InvalidRequest("a fee is a positive whole number of yen")
    if await repository.get_department(session, region, department_code) is None:
        raise UnknownDepartment(f"region {region} has no department {department_code}")
    return await repository.insert_fee_version(
        session,
        region=region,
        procedure_code=procedure_code,
        name_ja=name_ja,
        name_en=name_en,
        department_code=department_code,
        fee=fee,
        valid_from=valid_from,
        sample=sample_data,
        recorded_by=recorded_by,
    )


async def catalogue(session: AsyncSession, region: str, day: date) -> list[FeeVersion]:
    return await repository.catalogue_on(session, region, day)


async def fee_on(session: AsyncSession, region: str, procedure_code: str, day: date) -> FeeVersion:
    for version in await repository.catalogue_on(session, region, day):
        if version.procedure_code == procedure_code:
            return version
    raise UnknownProcedure(f"no fee for {procedure_code} on {day}")


async def history(session: AsyncSession, region: str, procedure_code: str) -> list[FeeVersion]:
    versions = await repository.fee_history(session, region, procedure_code)
    if not versions:
        raise UnknownProcedure(f"unknown procedure {procedure_code}")
    return versions


async def load_sample(
    session: AsyncSession, region: str, *, valid_from: date, recorded_by: str
) -> list[FeeVersion]:
    """The sample departments and procedures (marked as sample data), from `valid_from`."""
    for code, name_ja, name_en in sample.DEPARTMENTS:
        await add_department(session, region, code, name_ja, name_en)
    return [
        await set_fee(
            session,
            region,
            code,
            name_ja=name_ja,
            name_en=name_en,
            department_code=department,
            fee=fee,
            valid_from=valid_from,
            recorded_by=recorded_by,
            sample_data=True,
        )
        for code, name_ja, name_en, department, fee in sample.PROCEDURES
    ]


async def departments(session: AsyncSession, region: str) -> list[Department]:
    return await repository.region_departments(session, region)
