"""The HTTP ceiling of the machine for `aizu bench http`: the payment endpoint's request body
read and validated by the same server stack (uvicorn, FastAPI, pydantic) and a receipt-sized
answer, with no database, no signature and no rule behind it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Header

from wallet_api.http.schemas.payments import CodePayment

app = FastAPI()


@app.post("/v1/payments", status_code=201)
async def pay(
    body: CodePayment,
    authorization: Annotated[str, Header()],
    idempotency_key: Annotated[str, Header()],
) -> dict[str, Any]:
    return {
        "payment": {
            "id": "p-0000000000000000",
            "wallet_id": body.intent.wallet_id,
            "merchant_id": body.intent.payee,
            "amount": body.intent.amount,
            "method": "mpm_dynamic",
        },
        "balance": {"total": 0, "lots": []},
        "key": idempotency_key[:0],
    }
