"""All SQL of departments and the fee catalogue. Functions take the caller's session and never
commit."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from city_hall.fees.domain import Department, FeeVersion

_FEE_COLUMNS = (
    "id, region_code, procedure_code, name_ja, name_en, department_code, fee, valid_from, "
    "sample, recorded_by, recorded_at"
)


def _department(row: Row[Any]) -> Department:
    return Department(row.region_code, row.code, row.name_ja, row.name_en, row.revenue_account_id)


def _fee(row: Row[Any]) -> FeeVersion:
    return FeeVersion(
        id=row.id,
        region=row.region_code,
        procedure_code=row.procedure_code,
        name_ja=row.name_ja,
        name_en=row.name_en,
        department_code=row.department_code,
        fee=row.fee,
        valid_from=row.valid_from,
        sample=row.sample,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )


async def insert_department(session: AsyncSession, department: Department) -> bool:
    result = await session.execute(
        text(
            "INSERT INTO departments (region_code, code, name_ja, name_en, revenue_account_id) "
            "VALUES (:region, :code, :name_ja, :name_en, :account) "
            "ON CONFLICT (region_code, code) DO NOTHING RETURNING code"
        ),
        {
            "region": department.region,
            "code": department.code,
            "name_ja": department.name_ja,
            "name_en": department.name_en,
            "account": department.revenue_account_id,
        },
    )
    return result.first() is not None


async def get_department(session: AsyncSession, region: str, code: str) -> Department | None:
    row = (
        await session.execute(
            text("SELECT * FROM departments WHERE region_code = :region AND code = :code"),
            {"region": region, "code": code},
        )
    ).first()
    return _department(row) if row else None


async def region_departments(session: AsyncSession, region: str) -> list[Department]:
    result = await session.execute(
        text("SELECT * FROM departments WHERE region_code = :region ORDER BY code"),
        {"region": region},
    )
    return [_department(row) for row in result]


async def insert_fee_version(
    session: AsyncSession,
    *,
    region: str,
    procedure_code: str,
    name_ja: str,
    name_en: str,
    department_code: str,
    fee: int,
    valid_from: date,
    sample: bool,
    recorded_by: str,
) -> FeeVersion:
    row = (
        await session.execute(
            text(
                "INSERT INTO fee_versions (region_code, procedure_code, name_ja, name_en, "
                "department_code, fee, valid_from, sample, recorded_by) VALUES (:region, :code, "
                ":name_ja, :name_en, :department, :fee, :valid_from, :sample, :recorded_by) "
                f"RETURNING {_FEE_COLUMNS}"
            ),
            {
                "region": region,
                "code": procedure_code,
                "name_ja": name_ja,
                "name_en": name_en,
                "department": department_code,
                "fee": fee,
                "valid_from": valid_from,
                "sample": sample,
                "recorded_by": recorded_by,
            },
        )
    ).one()
    return _fee(row)


async def catalogue_on(session: AsyncSession, region: str, day: date) -> list[FeeVersion]:
    """Each procedure's version in force on `day`: the latest valid from that day or before
    (of two versions from the same day, the one recorded last)."""
    result = await session.execute(
        text(
            f"SELECT DISTINCT ON (procedure_code) {_FEE_COLUMNS} FROM fee_versions "
            "WHERE region_code = :region AND valid_from <= :day "
            "ORDER BY procedure_code, valid_from DESC, id DESC"
        ),
        {"region": region, "day": day},
    )
    return [_fee(row) for row in result]


async def fee_history(session: AsyncSession, region: str, procedure_code: str) -> list[FeeVersion]:
    result = await session.execute(
        text(
            f"SELECT {_FEE_COLUMNS} FROM fee_versions WHERE region_code = :region "
            "AND procedure_code = :code ORDER BY id"
        ),
        {"region": region, "code": procedure_code},
    )
    return [_fee(row) for row in result]
