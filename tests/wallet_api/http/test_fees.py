"""City hall's fee catalogue over HTTP on real PostgreSQL: departments, sample data, fee changes
from a date on, kept as history."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.wallet_api.http.api import Api, Region, new_region
from wallet_api.actor import Role


async def with_sample(api: Api) -> Region:
    region = await new_region(api)
    loaded = await api.post(
        f"/v1/regions/{region.code}/fees/sample", region.operator, {"valid_from": "2026-04-01"}
    )
    assert loaded.status_code == 201, loaded.text
    return region


async def test_the_sample_catalogue_covers_two_dozen_procedures_marked_as_sample(api: Api) -> None:
    region = await with_sample(api)
    resident = api.token(Role.RESIDENT)
    fees = (await api.get(f"/v1/regions/{region.code}/fees", resident, on="2026-11-23")).json()
    assert len(fees["fees"]) >= 24
    assert all(fee["sample"] for fee in fees["fees"])
    by_code = {fee["procedure"]: fee for fee in fees["fees"]}
    assert by_code["residence-cert"]["name_ja"] == "住民票の写し"
    assert by_code["residence-cert"]["department"] == "citizens"
    departments = (await api.get(f"/v1/regions/{region.code}/departments", resident)).json()
    assert {d["code"] for d in departments["departments"]} >= {"citizens", "taxation"}
    assert len({d["revenue_account_id"] for d in departments["departments"]}) == len(
        departments["departments"]
    )
    before = await api.get(f"/v1/regions/{region.code}/fees", resident, on="2026-03-31")
    assert before.json()["fees"] == []  # nothing was in force before the sample's date


async def test_a_fee_change_applies_from_its_date_and_keeps_the_old_version(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    region = await with_sample(api)
    changed = await api.client.put(
        f"/v1/regions/{region.code}/fees/residence-cert",
        json={
            "name_ja": "住民票の写し",
            "name_en": "Certificate of residence (copy)",
            "department": "citizens",
            "fee": 350,
            "valid_from": "2027-04-01",
        },
        headers=region.operator,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["sample"] is False

    def fee_on(catalogue: dict[str, list[dict[str, object]]]) -> object:
        return next(f["fee"] for f in catalogue["fees"] if f["procedure"] == "residence-cert")

    path = f"/v1/regions/{region.code}/fees"
    assert fee_on((await api.get(path, region.operator, on="2027-03-31")).json()) == 300
    assert fee_on((await api.get(path, region.operator, on="2027-04-01")).json()) == 350
    history = (await api.get(f"{path}/residence-cert/history", region.operator)).json()["fees"]
    assert [(v["fee"], v["valid_from"], v["recorded_by"]) for v in history] == [
        (300, "2026-04-01", "operator-1"),
        (350, "2027-04-01", "operator-1"),
    ]
    async with sessions() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text("UPDATE fee_versions SET fee = 1"))


async def test_bad_fees_and_strangers_are_refused(api: Api) -> None:
    region = await with_sample(api)
    body = {
        "name_ja": "x",
        "name_en": "x",
        "department": "nowhere",
        "fee": 100,
        "valid_from": "2027-01-01",
    }
    path = f"/v1/regions/{region.code}/fees/new-procedure"
    unknown = await api.client.put(path, json=body, headers=region.operator)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_department")
    zero = await api.client.put(
        path, json={**body, "department": "citizens", "fee": 0}, headers=region.operator
    )
    assert zero.status_code == 422
    resident = await api.client.put(
        path, json={**body, "department": "citizens"}, headers=api.token(Role.RESIDENT)
    )
    assert resident.status_code == 403
    missing = await api.get(
        f"/v1/regions/{region.code}/fees/new-procedure/history", region.operator
    )
    assert missing.status_code == 404
