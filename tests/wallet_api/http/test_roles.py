"""The role matrix: every endpoint times every role. A role an endpoint does not accept gets 403
and changes nothing; a role it accepts gets past the role check."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from nacl.signing import SigningKey

from tests.wallet_api.http.api import (
    Api,
    body_models,
    new_merchant,
    new_region,
    open_wallet,
    public_key_text,
)
from wallet_api.actor import Role
from wallet_api.http.app import ROUTERS
from wallet_api.http.auth import Allow

ROLE_REFUSAL = "this operation is not open to the caller's roles"
# Taken by the roles they admit only on books of their own (test_operator_lists): the nightly
# chain run here would seal, check and batch payouts across every other test's regions.
RUN_ON_BOOKS_OF_THEIR_OWN = {("POST", "/v1/nightly/runs")}


def declared_roles(dependant: Dependant) -> list[frozenset[Role]]:
    found = [dependant.call.roles] if isinstance(dependant.call, Allow) else []
    for sub in dependant.dependencies:
        found.extend(declared_roles(sub))
    return found


def example_body(route: APIRoute) -> Any:
    body = route.body_field
    if body is None:
        return None
    schema = body_models(body.field_info.annotation)[0].model_json_schema()
    examples = schema.get("examples") or [{}]
    return examples[0]


async def call(
    base_url: str, method: str, path: str, route: APIRoute, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    """One request over real HTTP; an event stream is judged by its status and left at once."""
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=10) as client,
        client.stream(
            method,
            path,
            json=example_body(route),
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
        ) as response,
    ):
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return response.status_code, {}
        await response.aread()
        is_json = "json" in response.headers.get("content-type", "")
        return response.status_code, response.json() if is_json else {}


def v1_routes() -> list[APIRoute]:
    return [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]


def test_every_endpoint_declares_its_roles() -> None:
    routes = v1_routes()
    assert routes
    for route in routes:
        assert len(declared_roles(route.dependant)) == 1, f"{route.path} declares no roles"


async def test_every_endpoint_times_every_role(api: Api, live_url: str) -> None:
    region = await new_region(api)
    wallet_id, resident = await open_wallet(api, region)
    pending = await api.post(f"/v1/wallets/{wallet_id}/bank-topups", resident, {"amount": 10})
    device = await api.post(
        f"/v1/wallets/{wallet_id}/devices",
        resident,
        {"public_key": public_key_text(SigningKey.generate()), "label": "phone"},
    )
    card = await api.post(f"/v1/wallets/{wallet_id}/cards", region.operator, {"pin": "4821"})
    merchant_id, staff = await new_merchant(api, region)
    terminal = await api.post(
        f"/v1/merchants/{merchant_id}/terminals",
        staff,
        {"label": "till", "public_key": public_key_text(SigningKey.generate())},
    )
    parameters = {
        "campaign_id": "cp-unknown",
        "entry_id": "1",
        "currency": region.currency,
        "invoice_id": "i-unknown",
        "procedure": "residence-cert",
        "batch_id": "b-unknown",
        "payment_id": "p-0000000000000000",  # refused or unknown: roles are what is checked
        "merchant_id": merchant_id,
        "terminal_id": terminal.json()["id"],
        "card_id": card.json()["id"],
        "device_id": device.json()["id"],
        "region": region.code,
        "counter_id": region.counter,
        "wallet_id": wallet_id,
        "reference": pending.json()["reference"],
        "label": f"{region.counter}-2026-000001",
        "extension": "csv",
    }
    callers = {
        Role.RESIDENT: resident,
        Role.VISITOR: api.token(Role.VISITOR, "matrix-visitor"),
        Role.MERCHANT_STAFF: staff,
        Role.CASHIER: region.cashier,
        Role.SUPERVISOR: api.token(Role.SUPERVISOR),
        Role.CAMPAIGN_ADMIN: api.token(Role.CAMPAIGN_ADMIN),
        Role.ECONOMIST: api.token(Role.ECONOMIST),
        Role.AUDITOR: api.token(Role.AUDITOR),
        Role.OPERATOR: region.operator,
    }
    assert set(callers) == set(Role)
    checked = 0
    for route in v1_routes():
        [allowed] = declared_roles(route.dependant)
        path = re.sub(r"\{(\w+)\}", lambda m: parameters[m.group(1)], route.path)
        for method in route.methods or ():
            for role, headers in callers.items():
                if (method, route.path) in RUN_ON_BOOKS_OF_THEIR_OWN and role in allowed:
                    continue
                status, body = await call(live_url, method, path, route, headers)
                refused = status == 403 and body.get("detail") == ROLE_REFUSAL
                assert refused == (role not in allowed), (method, route.path, role, body)
                assert status != 401, (method, route.path, role)
                assert status < 500, (method, route.path, role, body)
                checked += 1
    assert checked >= len(Role) * 10
