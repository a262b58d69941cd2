"""Request and response bodies of the city hall endpoints."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from ledger.domain import MAX_AMOUNT
from merchant.fees.domain import Department, FeeVersion

_CODE = r"^[a-z][a-z0-9-]{1,39}$"


class DepartmentIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"code": "citizens", "name_ja": "市民課", "name_en": "Citizens Division"}]
        },
    )

    code: str = Field(pattern=_CODE)
    name_ja: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=100)


class DepartmentOut(BaseModel):
    code: str
    name_ja: str
    name_en: str
    revenue_account_id: int

    @classmethod
    def of(cls, department: Department) -> DepartmentOut:
        return cls(
            code=department.code,
            name_ja=department.name_ja,
            name_en=department.name_en,
            revenue_account_id=department.revenue_account_id,
        )


class DepartmentList(BaseModel):
    departments: list[DepartmentOut]


class FeeIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name_ja": "住民票の写し",
                    "name_en": "Certificate of residence (copy)",
                    "department": "citizens",
                    "fee": 350,
                    "valid_from": "2027-04-01",
                }
            ]
        },
    )

    name_ja: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=100)
    department: str = Field(pattern=_CODE)
    fee: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="Yen.")
    valid_from: date = Field(description="The ordinance's effective date.")


class FeeOut(BaseModel):
    version_id: int
    procedure: str
    name_ja: str
    name_en: str
    department: str
    fee: int
    valid_from: date
    sample: bool = Field(description="Seed data, to be replaced by the city's own catalogue.")
    recorded_by: str
    recorded_at: datetime

    @classmethod
    def of(cls, version: FeeVersion) -> FeeOut:
        return cls(
            version_id=version.id,
            procedure=version.procedure_code,
            name_ja=version.name_ja,
            name_en=version.name_en,
            department=version.department_code,
            fee=version.fee,
            valid_from=version.valid_from,
            sample=version.sample,
            recorded_by=version.recorded_by,
            recorded_at=version.recorded_at,
        )


class FeeList(BaseModel):
    fees: list[FeeOut]


class SampleLoad(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"valid_from": "2026-04-01"}]}
    )

    valid_from: date
