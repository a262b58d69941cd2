"""A test client of the HTTP service: real HTTP semantics through the ASGI app, real PostgreSQL,
tokens from a local issuer made for the test run."""

from __future__ import annotations

import base64
import secrets
import string
import uuid
from dataclasses import dataclass
from typing import Any, get_args

import httpx
from fastapi import FastAPI
from nacl.signing import SigningKey
from pydantic import BaseModel

from wallet_api.actor import Role
from wallet_api.http.auth import LocalIssuer


@dataclass
class Api:
    app: FastAPI
    client: httpx.AsyncClient
    issuer: LocalIssuer
    platform_key: SigningKey

    def token(
        self,
        role: Role,
        subject: str | None = None,
        *,
        merchant: str | None = None,
        counter: str | None = None,
    ) -> dict[str, str]:
        token = self.issuer.issue(
            subject or f"s-{secrets.token_hex(6)}", [role], merchant=merchant, counter=counter
        )
        return {"Authorization": f"Bearer {token}"}

    async def post(
        self, path: str, as_: dict[str, str], body: Any = None, *, key: str | None = None
    ) -> httpx.Response:
        headers = {**as_, "Idempotency-Key": key or str(uuid.uuid4())}
        return await self.client.post(path, json=body, headers=headers)

    async def get(self, path: str, as_: dict[str, str], **params: Any) -> httpx.Response:
        return await self.client.get(path, headers=as_, params=params)


@dataclass(frozen=True)
class Region:
    code: str
    currency: str
    counter: str
    operator: dict[str, str]
    cashier: dict[str, str]


async def new_region(api: Api, **limits: int) -> Region:
    """A region of its own with a counter, so tests never share balances or limits."""
    suffix = "".join(secrets.choice(string.ascii_lowercase) for _ in range(8))
    code, currency, counter = f"r-{suffix}", f"T{suffix.upper()}", f"c-{suffix}"
    operator = api.token(Role.OPERATOR, "operator-1")
    created = await api.post(
        "/v1/regions",
        operator,
        {
            "code": code,
            "name": f"Region {suffix}",
            "currency": currency,
            "currency_name": "test point",
            "limits": limits,
        },
    )
    assert created.status_code == 201, created.text
    opened = await api.post(
        "/v1/counters", operator, {"id": counter, "name": "Window 1", "currency": currency}
    )
    assert opened.status_code == 201, opened.text
    return Region(code, currency, counter, operator, api.token(Role.CASHIER, counter=counter))


async def open_wallet(
    api: Api, region: Region, role: Role = Role.RESIDENT
) -> tuple[str, dict[str, str]]:
    """A new holder's wallet id and the holder's credentials."""
    holder = api.token(role)
    response = await api.post("/v1/wallets", holder, {"region": region.code})
    assert response.status_code == 201, response.text
    return response.json()["id"], holder


async def top_up(api: Api, region: Region, wallet_id: str, amount: int) -> httpx.Response:
    return await api.post(
        f"/v1/counters/{region.counter}/topups",
        region.cashier,
        {"wallet_id": wallet_id, "amount": amount},
    )


def public_key_text(key: SigningKey) -> str:
    """A device key's public half as the API takes it: base64url without padding."""
    return base64.urlsafe_b64encode(bytes(key.verify_key)).decode().rstrip("=")


def merchant_body(
    region: Region,
    merchant_id: str,
    *,
    size_class: str = "local",
    district: str = "Kitaaizu",
    sector: str = "M",
) -> dict[str, Any]:
    return {
        "id": merchant_id,
        "currency": region.currency,
        "legal_name": "株式会社会津ラーメン",
        "display_name": "会津ラーメン",
        "qr_name": "Aizu Ramen",
        "qr_city": "Aizuwakamatsu",
        "kana_name": "ｶ)ｱｲﾂﾞﾗ-ﾒﾝ",
        "mcc": "5812",
        "jsic_major": sector,
        "district": district,
        "size_class": size_class,
        "bank": {
            "bank_code": "0001",
            "branch_code": "123",
            "account_type": "1",
            "account_number": "1234567",
            "holder": "ｶ)ｱｲﾂﾞﾗ-ﾒﾝ",
        },
    }


async def new_merchant(
    api: Api, region: Region, *, size_class: str = "local", **where: str
) -> tuple[str, dict[str, str]]:
    """A new shop in the region (`district`, `sector` if given) and a token of its staff."""
    merchant_id = f"m-{secrets.token_hex(5)}"
    body = merchant_body(region, merchant_id, size_class=size_class, **where)
    response = await api.post("/v1/merchants", region.operator, body)
    assert response.status_code == 201, response.text
    return merchant_id, api.token(Role.MERCHANT_STAFF, merchant=merchant_id)


def body_models(annotation: Any) -> list[type[BaseModel]]:
    """The models a request body may be: itself, or each member of a (discriminated) union."""
    members = get_args(annotation) or (annotation,)
    assert all(isinstance(m, type) and issubclass(m, BaseModel) for m in members), annotation
    return list(members)
