"""HTTP endpoints of printed cards (`/v1/cards`, `/v1/wallets/{wallet_id}/cards`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from wallet_api.actor import Actor
from wallet_api.cards import service
from wallet_api.cards.domain import Card
from wallet_api.http.deps import SessionDep
from wallet_api.http.idempotency import idempotent
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


async def _card_for(session: AsyncSession, actor: Actor, card_id: str) -> tuple[Card, Wallet]:
    """The card, if the caller may see it: its wallet's resident, or an operator."""
    card = await service.get_card(session, card_id)
    wallet = await wallets.wallet_for(session, actor, card.wallet_id)
    return card, wallet


@router.post("/wallets/{wallet_id}/cards", status_code=201)
@idempotent(kept_without=SHOWN_ONCE)
async def issue_card(
    wallet_id: str,
    body: CardIssue,
    session: SessionDep,
    actor: Operator,
) -> PrintedCardOut:
    """Issue a printed QR card for a resident's wallet, guarded by a four-digit PIN. The answer
    carries the QR code (payload, PNG, SVG) to print; it is shown this once."""
    wallet = await wallets.wallet_for(session, actor, wallet_id)
    return PrintedCardOut.printed(await service.issue_card(session, wallet, body.pin))


@router.get("/cards/{card_id}")
async def read_card(card_id: str, session: SessionDep, actor: ResidentOrOperator) -> CardOut:
    card, _ = await _card_for(session, actor, card_id)
    return CardOut.of(card)


async def _card_still_in_use(session: AsyncSession, answer: dict[str, Any]) -> None:
    # A replayed yes must still be true: the card may have been blocked since.
    await service.require_in_use(session, answer["card_id"])


@router.post("/cards/authenticate")
@idempotent(check_replay=_card_still_in_use)
async def authenticate_card(
    body: CardAuthenticate,
    session: SessionDep,
    actor: CashierOrStaff,
) -> CardHolderOut:
    """A shop or counter scanned a card and the resident typed the PIN. A wrong PIN is
    recorded and refused with the attempts left (a replay of the same request does not count
    twice); five in a row lock the card."""
    card = await service.check_pin(session, body.qr_payload, body.pin)
    return CardHolderOut.of(card)


@router.post("/cards/{card_id}/block")
@idempotent
async def block_card(
    card_id: str,
    session: SessionDep,
    actor: ResidentOrOperator,
) -> CardOut:
    """Block a lost card at once; the wallet and its points stay."""
    card, _ = await _card_for(session, actor, card_id)
    return CardOut.of(await service.block_card(session, card))


@router.post("/cards/{card_id}/replace", status_code=201)
@idempotent(kept_without=SHOWN_ONCE)
async def replace_card(
    card_id: str,
    body: CardIssue,
    session: SessionDep,
    actor: Operator,
) -> PrintedCardOut:
    """Replace a lost or locked card: the old one is blocked, a new one with a new PIN is
    printed for the same wallet, and the balance stays."""
    card, wallet = await _card_for(session, actor, card_id)
    replacement = await service.replace_card(session, wallet, card, body.pin)
    return PrintedCardOut.printed(replacement)
