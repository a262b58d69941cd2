"""Bad input and strangers are refused with a stable code, and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.config import Settings
from tests.wallet_api.http.api import Api, new_region, open_wallet, top_up
from wallet_api.actor import Role
from wallet_api.http.app import token_verifier_for
from wallet_api.http.auth import LocalIssuer


async def wallet_posted(api: Api, wallet_id: str, operator: dict[str, str]) -> int:
    response = await api.get(f"/v1/wallets/{wallet_id}/balance", operator)
    return int(response.json()["posted"])


@pytest.mark.parametrize("amount", [0, -5, 1.5, "100", None, 10**16, True])
async def test_bad_amounts_are_422_and_change_nothing(api: Api, amount: Any) -> None:
    region = await new_region(api)
    wallet_id, _ = await open_wallet(api, region)
    response = await top_up(api, region, wallet_id, amount)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"
    assert await wallet_posted(api, wallet_id, region.operator) == 0


async def test_unknown_wallet_and_counter_are_404(api: Api) -> None:
    region = await new_region(api)
    unknown = await top_up(api, region, "w-0000000000000000", 100)
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "unknown_wallet"
    cashier = api.token(Role.CASHIER, counter="c-nowhere")
    nowhere = await api.post(
        "/v1/counters/c-nowhere/topups", cashier, {"wallet_id": "w-1", "amount": 1}
    )
    assert nowhere.status_code == 404
    assert nowhere.json()["code"] == "unknown_counter"


async def test_state_changing_posts_need_an_idempotency_key(api: Api) -> None:
    region = await new_region(api)
    wallet_id, _ = await open_wallet(api, region)
    response = await api.client.post(
        f"/v1/counters/{region.counter}/topups",
        json={"wallet_id": wallet_id, "amount": 100},
        headers=region.cashier,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_required"
    assert await wallet_posted(api, wallet_id, region.operator) == 0


async def test_missing_bad_and_foreign_tokens_are_401(api: Api) -> None:
    assert (await api.client.get("/v1/wallets")).status_code == 401
    garbage = await api.client.get("/v1/wallets", headers={"Authorization": "Bearer x.y.z"})
    assert garbage.status_code == 401
    assert garbage.json()["code"] == "unauthenticated"
    assert garbage.headers["WWW-Authenticate"] == "Bearer"
    stranger = LocalIssuer.generate().issue("s-1", [Role.RESIDENT])
    foreign = await api.client.get("/v1/wallets", headers={"Authorization": f"Bearer {stranger}"})
    assert foreign.status_code == 401


async def test_a_resident_cannot_read_or_move_another_residents_wallet(api: Api) -> None:
    region = await new_region(api)
    wallet_id, owner = await open_wallet(api, region)
    assert (await top_up(api, region, wallet_id, 1_000)).status_code == 201
    _, other = await open_wallet(api, region)
    for path in ("", "/balance", "/history"):
        response = await api.get(f"/v1/wallets/{wallet_id}{path}", other)
        assert response.status_code == 403, path
        assert response.json()["code"] == "forbidden"
    moved = await api.post(f"/v1/wallets/{wallet_id}/bank-topups", other, {"amount": 10})
    assert moved.status_code == 403
    assert (await api.get(f"/v1/wallets/{wallet_id}", owner)).status_code == 200


async def test_a_cashier_acts_only_at_their_own_counter(api: Api) -> None:
    region = await new_region(api)
    wallet_id, _ = await open_wallet(api, region)
    elsewhere = api.token(Role.CASHIER, counter="c-other")
    response = await api.post(
        f"/v1/counters/{region.counter}/topups", elsewhere, {"wallet_id": wallet_id, "amount": 5}
    )
    assert response.status_code == 403
    assert await wallet_posted(api, wallet_id, region.operator) == 0


async def test_unknown_fields_and_paths_are_problems_too(api: Api) -> None:
    region = await new_region(api)
    resident = api.token(Role.RESIDENT)
    extra = await api.post("/v1/wallets", resident, {"region": region.code, "balance": 10**6})
    assert extra.status_code == 422
    missing = await api.get("/v1/nowhere", resident)
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


async def test_an_operator_who_is_also_a_resident_acts_as_holder_only_on_their_own_wallet(
    api: Api,
) -> None:
    region = await new_region(api)
    wallet_id, _ = await open_wallet(api, region)
    staff = {
        "Authorization": "Bearer "
        + api.issuer.issue("staff-resident", [Role.OPERATOR, Role.RESIDENT])
    }
    assert (await api.get(f"/v1/wallets/{wallet_id}/balance", staff)).status_code == 200
    for path, body in (
        ("devices", {"public_key": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "label": "x"}),
        ("consents", {"purpose": "statistics", "granted": True, "text_version": "2026-11"}),
        ("bank-topups", {"amount": 100}),
    ):
        response = await api.post(f"/v1/wallets/{wallet_id}/{path}", staff, body)
        assert response.status_code == 403, path
    demographics = await api.client.put(
        f"/v1/wallets/{wallet_id}/demographics", json={"district": "x"}, headers=staff
    )
    assert demographics.status_code == 403


async def test_values_postgresql_cannot_store_are_422_not_500(api: Api) -> None:
    region = await new_region(api)
    wallet_id, resident = await open_wallet(api, region)
    in_path = await api.get(f"/v1/wallets/{wallet_id}%00/balance", resident)
    assert in_path.status_code in (403, 404, 422)
    in_body = await api.post(
        f"/v1/wallets/{wallet_id}/devices",
        resident,
        {"public_key": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "label": "nul\u0000"},
    )
    assert in_body.status_code == 422
    assert in_body.json()["code"] == "invalid_request"
    devices = (await api.get(f"/v1/wallets/{wallet_id}/devices", resident)).json()["devices"]
    assert devices == []
    card = await api.post(f"/v1/wallets/{wallet_id}/cards", region.operator, {"pin": "4821"})
    forged = card.json()["qr_payload"].rsplit(":", 1)[0] + ":\u00e9"
    scanned = await api.post(
        "/v1/cards/authenticate", region.cashier, {"qr_payload": forged, "pin": "4821"}
    )
    assert scanned.status_code == 404


def test_half_an_openid_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="both"):
        token_verifier_for(Settings(AIZU_OIDC_ISSUER="https://id.city.example"))
