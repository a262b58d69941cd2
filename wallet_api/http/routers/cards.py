"""HTTP endpoints of printed cards (`/v1/cards`, `/v1/wallets/{wallet_id}/cards`)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from wallet_api.actor import Actor
from wallet_api.cards import service
from wallet_api.cards.domain import Card
from wallet_api.http.deps import IdempotencyKeyHeader, SessionDep
from wallet_api.http.idempotency import REPLAYED_HEADER, respond_once
from wallet_api.http.roles import CashierOrStaff, Operator, ResidentOrOperator
from wallet_api.http.schemas.cards import (
    SHOWN_ONCE,
    CardAuthenticate,
    CardHolderOut,
    CardIssue,
    CardOut,
    PrintedCardOut,
)
from wallet_api.wallets import service as wallets
from wallet_api.wallets.domain import Wallet

router = APIRouter(prefix="/v1", tags=["cards"])


async def _card_for(session: SessionDep, actor: Actor, card_id: str) -> tuple[Card, Wallet]:
    """The card, if the caller may see it: its wallet's resident, or an operator."""
    card = await service.get_card(session, card_id)
    wallet = await wallets.wallet_for(session, actor, card.wallet_id)
    return card, wallet


@router.post("/wallets/{wallet_id}/cards", status_code=201, response_model=PrintedCardOut)
async def issue_card(
    wallet_id: str,
    body: CardIssue,
    request: Request,
    session: SessionDep,
    actor: Operator,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Issue a printed QR card for a resident's wallet, guarded by a four-digit PIN. The answer
    carries the QR code (payload, PNG, SVG) to print; it is shown this once."""

    async def operation() -> tuple[int, PrintedCardOut]:
        wallet = await wallets.wallet_for(session, actor, wallet_id)
        return 201, PrintedCardOut.printed(await service.issue_card(session, wallet, body.pin))

    return await respond_once(
        request, session, actor, idempotency_key, body, operation, kept_without=SHOWN_ONCE
    )


@router.get("/cards/{card_id}")
async def read_card(card_id: str, session: SessionDep, actor: ResidentOrOperator) -> CardOut:
    card, _ = await _card_for(session, actor, card_id)
    return CardOut.of(card)


@router.post("/cards/authenticate", response_model=CardHolderOut)
async def authenticate_card(
    body: CardAuthenticate,
    request: Request,
    session: SessionDep,
    actor: CashierOrStaff,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """A shop or counter scanned a card and the resident typed the PIN. A wrong PIN is
    recorded and refused with the attempts left (a replay of the same request does not count
    twice); five in a row lock the card."""

    async def operation() -> tuple[int, CardHolderOut]:
        card = await service.check_pin(session, body.qr_payload, body.pin)
        return 200, CardHolderOut(card_id=card.id, wallet_id=card.wallet_id)

    response = await respond_once(request, session, actor, idempotency_key, body, operation)
    if response.status_code == 200 and response.headers.get(REPLAYED_HEADER):
        # A replayed yes must still be true: the card may have been blocked since.
        await service.require_in_use(session, json.loads(bytes(response.body))["card_id"])
    return response


@router.post("/cards/{card_id}/block", response_model=CardOut)
async def block_card(
    card_id: str,
    request: Request,
    session: SessionDep,
    actor: ResidentOrOperator,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Block a lost card at once; the wallet and its points stay."""

    async def operation() -> tuple[int, CardOut]:
        card, _ = await _card_for(session, actor, card_id)
        return 200, CardOut.of(await service.block_card(session, card))

    return await respond_once(request, session, actor, idempotency_key, None, operation)


@router.post("/cards/{card_id}/replace", status_code=201, response_model=PrintedCardOut)
async def replace_card(
    card_id: str,
    body: CardIssue,
    request: Request,
    session: SessionDep,
    actor: Operator,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Replace a lost or locked card: the old one is blocked, a new one with a new PIN is
    printed for the same wallet, and the balance stays."""

    async def operation() -> tuple[int, PrintedCardOut]:
        card, wallet = await _card_for(session, actor, card_id)
        replacement = await service.replace_card(session, wallet, card, body.pin)
        return 201, PrintedCardOut.printed(replacement)

    return await respond_once(
        request, session, actor, idempotency_key, body, operation, kept_without=SHOWN_ONCE
    )
