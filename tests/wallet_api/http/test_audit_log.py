"""The audit log over HTTP, against real PostgreSQL: each change by someone who runs the
service is recorded once, with who, what and when, in the transaction of the change itself;
auditors read it; nobody rewrites it."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.wallet_api.http.api import Api, new_merchant, new_region, open_wallet
from tests.wallet_api.http.test_roles import declared_roles, v1_routes
from wallet_api.actor import Role
from wallet_api.audit.domain import PRIVILEGED_ROLES
from wallet_api.http.idempotency import AUDITED

# POSTs that change nothing: a preview of what a benefit would pay.
CHANGE_NOTHING = {("POST", "/v1/campaigns/{campaign_id}/benefit-payouts/preview")}


async def events_of(api: Api, subject: str, **params: Any) -> list[dict[str, Any]]:
    auditor = api.token(Role.AUDITOR)
    answer = await api.get("/v1/audit-events", auditor, subject=subject, **params)
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


def test_every_change_open_to_those_who_run_the_service_is_audited() -> None:
    """Read from the routes themselves: a new endpoint cannot be left out by forgetting it."""
    privileged = {Role(role) for role in PRIVILEGED_ROLES}
    audited = []
    for route in v1_routes():
        for method in (route.methods or set()) - {"GET", "HEAD"}:
            [allowed] = declared_roles(route.dependant)
            if allowed & privileged and (method, route.path) not in CHANGE_NOTHING:
                assert getattr(route.endpoint, AUDITED, False), (method, route.path)
                audited.append(route)
    assert len(audited) > 25


def test_consent_is_audited_whoever_decides() -> None:
    changing = [
        route
        for route in v1_routes()
        if route.path.endswith(("/consents", "/demographics"))
        and (route.methods or set()) - {"GET", "HEAD"}
    ]
    assert len(changing) == 3
    assert all(getattr(route.endpoint, AUDITED, False) for route in changing)


async def test_an_operators_change_is_recorded_once_with_who_what_and_when(api: Api) -> None:
    region = await new_region(api)
    merchant_id, staff = await new_merchant(api, region)
    subject = f"operator-{secrets.token_hex(4)}"
    operator = api.token(Role.OPERATOR, subject)
    key = str(uuid.uuid4())
    why = {"reason": "unpaid licence"}

    suspended = await api.post(f"/v1/merchants/{merchant_id}/suspension", operator, why, key=key)
    assert suspended.status_code == 200, suspended.text
    replayed = await api.post(f"/v1/merchants/{merchant_id}/suspension", operator, why, key=key)
    assert replayed.status_code == 200
    refused = await api.post("/v1/merchants/m-nobody/suspension", operator, why)
    assert refused.status_code == 404
    by_staff = await api.post(f"/v1/merchants/{merchant_id}/reinstatement", staff, why)
    assert by_staff.status_code == 403
    limits = await api.client.put(
        f"/v1/regions/{region.code}/policy", headers=operator, json={"max_wallet_balance": 400_000}
    )
    assert limits.status_code == 200, limits.text

    [suspension, policy] = await events_of(api, subject)
    assert suspension["action"] == "suspend_merchant"
    assert (suspension["method"], suspension["route"]) == (
        "POST",
        "/v1/merchants/{merchant_id}/suspension",
    )
    assert suspension["target"] == {"merchant_id": merchant_id}
    assert (suspension["actor_subject"], suspension["actor_roles"]) == (subject, ["operator"])
    assert (suspension["status"], suspension["idempotency_key"]) == (200, key)
    assert suspension["request_id"] == suspended.headers["X-Request-ID"]
    assert suspension["resource_id"] == merchant_id
    assert "unpaid licence" not in suspension["leaf"]  # the body is never recorded
    assert policy["action"] == "update_policy"
    assert policy["target"] == {"region": region.code}
    assert policy["idempotency_key"] is None
    assert policy["recorded_at"] > suspension["recorded_at"]


async def test_residents_consent_is_recorded_their_own_wallet_is_not(api: Api) -> None:
    region = await new_region(api)
    wallet_id, resident = await open_wallet(api, region)
    purposes = (await api.get("/v1/consent-purposes", resident)).json()["purposes"]
    statistics = next(p for p in purposes if p["purpose"] == "statistics")
    decision = {
        "purpose": "statistics",
        "text_version": statistics["text_version"],
        "granted": True,
    }
    granted = await api.post(f"/v1/wallets/{wallet_id}/consents", resident, decision)
    assert granted.status_code == 201, granted.text
    given = await api.client.put(
        f"/v1/wallets/{wallet_id}/demographics",
        headers=resident,
        json={"age_band": "65-74", "district": "Kitaaizu"},
    )
    assert given.status_code == 200, given.text
    withdrawn = await api.client.delete(f"/v1/wallets/{wallet_id}/demographics", headers=resident)
    assert withdrawn.status_code == 204

    everything = await all_events(api)
    assert not [e for e in everything if e["resource_id"] == wallet_id]  # opening it
    mine = [e for e in everything if e["target"].get("wallet_id") == wallet_id]
    assert [e["action"] for e in mine] == [
        "decide_consent",
        "give_demographics",
        "withdraw_demographics",
    ]
    assert mine[0]["actor_roles"] == ["resident"]
    assert all("65-74" not in e["leaf"] for e in mine)  # what was given is not in the log
    assert [e["status"] for e in mine] == [201, 200, 204]


async def all_events(api: Api) -> list[dict[str, Any]]:
    auditor = api.token(Role.AUDITOR)
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        page = (await api.get("/v1/audit-events", auditor, after=after, limit=1000)).json()
        found += page["events"]
        if page["next_after"] is None:
            return found
        after = page["next_after"]


async def test_only_auditors_read_the_log_page_by_page(api: Api) -> None:
    region = await new_region(api)
    subject = f"operator-{secrets.token_hex(4)}"
    operator = api.token(Role.OPERATOR, subject)
    for n in range(3):
        changed = await api.client.put(
            f"/v1/regions/{region.code}/policy",
            headers=operator,
            json={"max_wallet_balance": 300_000 + n},
        )
        assert changed.status_code == 200, changed.text
    for role in set(Role) - {Role.AUDITOR}:
        assert (await api.get("/v1/audit-events", api.token(role))).status_code == 403
    first = (
        await api.get("/v1/audit-events", api.token(Role.AUDITOR), subject=subject, limit=2)
    ).json()
    assert len(first["events"]) == 2 and first["next_after"] == first["events"][-1]["id"]
    rest = await events_of(api, subject, after=first["next_after"])
    assert len(rest) == 1 and rest[0]["id"] > first["next_after"]
    bad = await api.get("/v1/audit-events", api.token(Role.AUDITOR), limit=0)
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_error")


async def test_the_log_cannot_be_rewritten(sessions: async_sessionmaker[AsyncSession]) -> None:
    for change in (
        "UPDATE audit_events SET actor_subject = 'someone else'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ):
        async with sessions() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(text(change))
