"""Opt-in consent and demographics over HTTP, against real PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.wallet_api.http.api import Api, new_region, open_wallet


async def test_consent_is_granted_revoked_and_kept_as_history(api: Api) -> None:
    region = await new_region(api)
    wallet_id, resident = await open_wallet(api, region)
    purposes = (await api.get("/v1/consent-purposes", resident)).json()["purposes"]
    statistics = next(p for p in purposes if p["purpose"] == "statistics")
    assert {"age_band", "district"} <= set(statistics["data_types"])
    assert statistics["recipient"] and statistics["text"]

    overview = (await api.get(f"/v1/wallets/{wallet_id}/consents", resident)).json()
    assert all(not state["granted"] for state in overview["current"])  # opt-in: nothing yet

    decision = {"purpose": "statistics", "text_version": statistics["text_version"]}
    granted = await api.post(
        f"/v1/wallets/{wallet_id}/consents", resident, {**decision, "granted": True}
    )
    assert granted.status_code == 201, granted.text
    assert granted.json()["recipient"] == statistics["recipient"]
    revoked = await api.post(
        f"/v1/wallets/{wallet_id}/consents", resident, {**decision, "granted": False}
    )
    assert revoked.status_code == 201
    overview = (await api.get(f"/v1/wallets/{wallet_id}/consents", resident)).json()
    current = {state["purpose"]: state["granted"] for state in overview["current"]}
    assert current == {"statistics": False, "research_export": False}
    assert [(r["purpose"], r["granted"]) for r in overview["history"]] == [
        ("statistics", True),
        ("statistics", False),
    ]


async def test_a_grant_must_be_of_the_text_in_force(api: Api) -> None:
    region = await new_region(api)
    wallet_id, resident = await open_wallet(api, region)
    outdated = await api.post(
        f"/v1/wallets/{wallet_id}/consents",
        resident,
        {"purpose": "research_export", "granted": True, "text_version": "2019-01"},
    )
    assert outdated.status_code == 409
    assert outdated.json()["code"] == "outdated_consent_text"
    overview = (await api.get(f"/v1/wallets/{wallet_id}/consents", resident)).json()
    assert overview["history"] == []


async def test_consent_history_cannot_be_rewritten(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    region = await new_region(api)
    wallet_id, resident = await open_wallet(api, region)
    await api.post(
        f"/v1/wallets/{wallet_id}/consents",
        resident,
        {"purpose": "statistics", "granted": True, "text_version": "2026-11"},
    )
    async with sessions() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(
                text("UPDATE consents SET granted = false WHERE wallet_id = :w"), {"w": wallet_id}
            )


async def test_demographics_are_given_only_by_the_resident_and_can_be_withdrawn(api: Api) -> None:
    region = await new_region(api)
    wallet_id, resident = await open_wallet(api, region)
    path = f"/v1/wallets/{wallet_id}/demographics"
    nothing = await api.get(path, resident)
    assert nothing.status_code == 200
    assert nothing.json() == {
        "given": False,
        "age_band": None,
        "district": None,
        "updated_at": None,
    }
    given = await api.client.put(
        path, json={"age_band": "65-74", "district": "Kitaaizu"}, headers=resident
    )
    assert given.status_code == 200, given.text
    assert (await api.get(path, resident)).json()["age_band"] == "65-74"
    assert (await api.get(path, region.operator)).status_code == 403
    _, stranger = await open_wallet(api, region)
    assert (await api.get(path, stranger)).status_code == 403
    bad = await api.client.put(path, json={"age_band": "elderly"}, headers=resident)
    assert bad.status_code == 422
    assert (await api.get(path, resident)).json()["age_band"] == "65-74"
    assert (await api.client.delete(path, headers=resident)).status_code == 204
    assert (await api.get(path, resident)).json()["given"] is False
