"""HTTP endpoints of the books' integrity: the daily seals, published to anyone; receipts with
their proofs for those entitled to the entry; what the nightly chain did."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from ledger import key_registry
from ledger.domain import business_date, utc_now
from reconciliation import nightly, seals
from reconciliation.errors import NotSealed
from reconciliation.nightly import NightStopped
from reconciliation.unused_balance import unused_balance
from wallet_api.http.deps import SessionDep
from wallet_api.http.idempotency import idempotent
from wallet_api.http.roles import Operator, OperatorOrAuditor, PayerOrPayee
from wallet_api.http.schemas.seals import (
    KeySet,
    NightOut,
    NightRunOut,
    PublicKeyOut,
    ReceiptOut,
    SealOut,
    UnusedBalanceOut,
)
from wallet_api.nightly import STEPS
from wallet_api.payments import service as payments
from wallet_api.wallets import service as wallets

# No token: a seal is published for anyone to check the books against.
public_router = APIRouter(prefix="/v1/seals", tags=["seals"])
keys_router = APIRouter(prefix="/v1/keys", tags=["seals"])
router = APIRouter(prefix="/v1", tags=["seals"])


@keys_router.get("")
async def public_keys(session: SessionDep) -> KeySet:
    """The service's public keys (a JSON Web Key Set), to verify seals, receipts and the QR
    codes the platform signs, and the local issuer's tokens, without trusting what is being
    checked. Each has a `kid`; a seal names the one that signed it (`key_id`), a code and a
    token carry it. A key rotated out stays listed (`retired`): what it signed still verifies.
    A revoked key is listed apart, with when and why: nothing it signed is to be trusted."""
    listed = [PublicKeyOut.of(key) for key in await key_registry.registered(session)]
    return KeySet(
        keys=[key for key in listed if key.status != "revoked"],
        revoked=[key for key in listed if key.status == "revoked"],
    )


@public_router.get("/{currency}")
async def list_seals(
    currency: str,
    session: SessionDep,
    since: Annotated[date | None, Query(description="First business date, inclusive.")] = None,
    until: Annotated[date | None, Query(description="Last business date, inclusive.")] = None,
) -> list[SealOut]:
    """The currency's seals in date order."""
    return [SealOut.of(s) for s in await seals.seals(session, currency, since=since, until=until)]


@public_router.get("/{currency}/{business_date}")
async def read_seal(currency: str, business_date: date, session: SessionDep) -> SealOut:
    """One business date's seal."""
    seal = await seals.get_seal(session, currency, business_date)
    if seal is None:
        raise NotSealed(f"{currency} {business_date} is not sealed")
    return SealOut.of(seal)


@router.get("/entries/{entry_id}/receipt")
async def entry_receipt(
    entry_id: Annotated[int, Path(ge=1, le=2**63 - 1)],  # an entry id is a PostgreSQL bigint
    session: SessionDep,
    actor: OperatorOrAuditor,
) -> ReceiptOut:
    """Any entry of a sealed day, with its inclusion proof."""
    return ReceiptOut.of(await seals.receipt(session, entry_id))


@router.get("/payments/{payment_id}/receipt")
async def payment_receipt(payment_id: str, session: SessionDep, actor: PayerOrPayee) -> ReceiptOut:
    """A payment's entry, once its day is sealed, with the proof that it is in the seal: for
    the payer and the shop that was paid."""
    payment = await payments.payment_for(session, actor, payment_id)
    return ReceiptOut.of(await seals.receipt(session, payment.entry_id))


@router.get("/nightly")
async def nightly_status(
    session: SessionDep,
    actor: OperatorOrAuditor,
    since: Annotated[date | None, Query(description="Default: 30 days ago.")] = None,
    until: Annotated[date | None, Query(description="Default: today.")] = None,
) -> list[NightOut]:
    """Each business date's nightly chain: every step's outcome, its detail and how often it
    was tried. A failed step ends its night there; one that keeps the books (or finds them
    wrong) holds back the dates after it too, a failed reporting step does not."""
    today = business_date(utc_now())
    chosen = await nightly.status(
        session, since=since or today - timedelta(days=30), until=until or today
    )
    return [NightOut.of(night) for night in chosen]


@router.post("/nightly/runs")
@idempotent
async def run_nightly(request: Request, session: SessionDep, actor: Operator) -> NightRunOut:
    """Run the nightly chain now, as the worker does at 01:30: every night due in date order (a
    failed or missed one first), each step not done yet, in this request. A step that fails
    again is told in `stopped` (the run itself was done), and the worker's next run tries
    again from it."""
    state = request.app.state
    now = utc_now()
    async with state.sessions() as reading:
        due = await nightly.due_nights(reading, now)
    stopped = None
    try:
        await nightly.run_due_nights(
            state.sessions,
            STEPS,
            now=now,
            platform_key=state.platform_key,
            k_threshold=state.settings.k_anonymity,
            export_dir=state.settings.export_path,
        )
    except NightStopped as failed:
        stopped = failed.detail
    shown = await nightly.status(session, since=due[0], until=due[-1]) if due else []
    return NightRunOut(due=due, stopped=stopped, nights=[NightOut.of(night) for night in shown])


@router.get("/regions/{region}/unused-balance")
async def read_unused_balance(
    region: str,
    session: SessionDep,
    actor: OperatorOrAuditor,
    base_date: Annotated[date, Query(description="31 March or 30 September, once over.")],
) -> UnusedBalanceOut:
    """The prepaid points (top-ups and premium sets) bought and not yet spent at the end of a
    base date, the figure the Payment Services Act asks for, with the spend-back and benefit
    points beside it."""
    policy = await wallets.get_policy(session, region)
    report = await unused_balance(session, policy.currency, base_date, now=utc_now())
    return UnusedBalanceOut.of(region, report)
