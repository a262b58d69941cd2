"""HTTP endpoints of regions, counters, wallets and top-ups (`/v1/...`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from city_hall import service as city_hall
from ledger import service as ledger
from wallet_api.cards import service as cards
from wallet_api.http.deps import SessionDep
from wallet_api.http.idempotency import commits, idempotent
from wallet_api.http.roles import (
    AnyRole,
    CityHallOverseer,
    CounterCashier,
    CounterCashierOrOperator,
    Holder,
    HolderOrOperator,
    Operator,
)
from wallet_api.http.schemas.counters import CounterCreate, CounterList, CounterOut
from wallet_api.http.schemas.wallets import (
    BalanceOut,
    BankTopupCreate,
    BankTopupRefusal,
    CounterTopupCreate,
    HistoryEntryOut,
    HistoryOut,
    PolicyLimits,
    PolicyOut,
    RegionCreate,
    RegionList,
    RegionOut,
    TopupOut,
    TopupReceiptOut,
    WalletList,
    WalletOpen,
    WalletOut,
)
from wallet_api.wallets import service

router = APIRouter(prefix="/v1")
# No token: where a wallet can be opened is public.
public_router = APIRouter(prefix="/v1", tags=["regions"])


# --- regions ------------------------------------------------------------------------------


@public_router.get("/regions")
async def list_regions(session: SessionDep) -> RegionList:
    """The regions and the currency each issues: where a wallet can be opened."""
    found = await ledger.regions_and_currencies(session)
    return RegionList(regions=[RegionOut.of(region) for region in found])


@router.post("/regions", tags=["regions"], status_code=201)
@idempotent
async def create_region(
    body: RegionCreate,
    session: SessionDep,
    actor: Operator,
) -> PolicyOut:
    """Set up a region: its currency, the account receiving bank transfers, its wallet policy."""
    policy = await service.set_up_region(
        session,
        code=body.code,
        name=body.name,
        currency=body.currency,
        currency_name=body.currency_name,
        limits=body.limits.given(),
    )
    return PolicyOut.of(policy)


@router.get("/regions/{region}/policy", tags=["regions"])
async def read_policy(region: str, session: SessionDep, actor: AnyRole) -> PolicyOut:
    """The region's wallet limits."""
    return PolicyOut.of(await service.get_policy(session, region))


@router.put("/regions/{region}/policy", tags=["regions"])
@commits
async def update_policy(
    region: str, body: PolicyLimits, session: SessionDep, actor: Operator
) -> PolicyOut:
    """Change the limits given; the others stay. Repeating the same PUT changes nothing more."""
    policy = await service.update_policy(session, region, body.given())
    return PolicyOut.of(policy)


# --- counters -----------------------------------------------------------------------------


@router.post("/counters", tags=["counters"], status_code=201)
@idempotent
async def create_counter(
    body: CounterCreate,
    session: SessionDep,
    actor: Operator,
) -> CounterOut:
    """Open a counter where cashiers take cash, with its drawer account."""
    counter = await city_hall.open_counter(
        session, counter_id=body.id, name=body.name, currency=body.currency
    )
    return CounterOut.of(counter)


@router.get("/counters", tags=["counters"])
async def list_counters(
    session: SessionDep,
    actor: CityHallOverseer,
    region: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    after: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CounterList:
    """The counters in id order, a page at a time, of one region or of all: for supervisors,
    operators and auditors."""
    return CounterList.of(
        await city_hall.list_counters(session, region=region, after=after, limit=limit)
    )


@router.get("/counters/{counter_id}", tags=["counters"])
async def read_counter(
    counter_id: str,
    session: SessionDep,
    actor: CounterCashierOrOperator,
) -> CounterOut:
    return CounterOut.of(await city_hall.get_counter(session, counter_id))


@router.post(
    "/counters/{counter_id}/topups",
    tags=["top-ups"],
    status_code=201,
)
@idempotent
async def top_up_at_counter(
    counter_id: str,
    body: CounterTopupCreate,
    session: SessionDep,
    actor: CounterCashier,
) -> TopupReceiptOut:
    """The cashier took cash: the counter's drawer is debited and the wallet's purchased points
    credited in one entry, within the wallet's balance cap and daily top-up limit. The wallet
    is named by its id, or by its printed card as the counter scans it."""
    counter = await city_hall.get_counter(session, counter_id)
    wallet_id = body.wallet_id
    if body.card is not None:
        wallet_id = (await cards.card_in_use(session, body.card)).wallet_id
    assert wallet_id is not None  # the body names the wallet one way or the other
    receipt = await service.top_up_at_counter(
        session, counter=counter, wallet_id=wallet_id, amount=body.amount
    )
    return TopupReceiptOut.of(receipt)


# --- wallets ------------------------------------------------------------------------------


@router.post("/wallets", tags=["wallets"], status_code=201)
@idempotent
async def open_wallet(
    body: WalletOpen,
    session: SessionDep,
    actor: Holder,
) -> WalletOut:
    """Open the caller's wallet in a region (a resident's: one per region; a visitor's expires)."""
    return WalletOut.of(await service.open_wallet(session, actor, body.region))


@router.get("/wallets", tags=["wallets"])
async def list_my_wallets(session: SessionDep, actor: Holder) -> WalletList:
    """The caller's wallets."""
    return WalletList(wallets=[WalletOut.of(w) for w in await service.wallets_of(session, actor)])


@router.get("/wallets/{wallet_id}", tags=["wallets"])
async def read_wallet(wallet_id: str, session: SessionDep, actor: HolderOrOperator) -> WalletOut:
    return WalletOut.of(await service.wallet_for(session, actor, wallet_id))


@router.get("/wallets/{wallet_id}/balance", tags=["wallets"])
async def read_balance(wallet_id: str, session: SessionDep, actor: HolderOrOperator) -> BalanceOut:
    """Total posted, pending and available points, and the same per lot in spending order."""
    wallet = await service.wallet_for(session, actor, wallet_id)
    return BalanceOut.of(await service.wallet_balance(session, wallet))


@router.get("/wallets/{wallet_id}/history", tags=["wallets"])
async def read_history(
    wallet_id: str,
    session: SessionDep,
    actor: HolderOrOperator,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[
        int | None, Query(ge=1, description="`next_before` of the last page.")
    ] = None,
) -> HistoryOut:
    """Entries that moved the wallet, newest first, with the lots used and the other side."""
    wallet = await service.wallet_for(session, actor, wallet_id)
    entries = await service.wallet_history(session, wallet, limit=limit, before_entry_id=before)
    names = await service.other_sides(session, entries)
    return HistoryOut(
        entries=[HistoryEntryOut.of(entry, names.get(entry.entry_id)) for entry in entries],
        next_before=entries[-1].entry_id if len(entries) == limit else None,
    )


@router.post("/wallets/{wallet_id}/bank-topups", tags=["top-ups"], status_code=201)
@idempotent
async def request_bank_topup(
    wallet_id: str,
    body: BankTopupCreate,
    request: Request,
    session: SessionDep,
    actor: Holder,
) -> TopupOut:
    """A top-up by bank transfer: the answer's reference goes on the transfer, and the points
    are credited once the transfer is matched."""
    wallet = await service.own_wallet(session, actor, wallet_id)
    return TopupOut.of(await service.request_bank_topup(session, wallet, body.amount))


@router.post("/bank-topups/{reference}/confirm", tags=["top-ups"])
@idempotent
async def confirm_bank_topup(
    reference: str,
    session: SessionDep,
    actor: Operator,
) -> TopupReceiptOut:
    """The transfer is on the bank statement: credit the wallet (the reconciliation job will do
    this by itself)."""
    return TopupReceiptOut.of(await service.confirm_bank_topup(session, reference))


@router.post("/bank-topups/{reference}/refuse", tags=["top-ups"])
@idempotent
async def refuse_bank_topup(
    reference: str,
    body: BankTopupRefusal,
    session: SessionDep,
    actor: Operator,
) -> TopupOut:
    """The transfer cannot be credited: mark it refused (the yen are sent back)."""
    return TopupOut.of(await service.refuse_bank_topup(session, reference, body.reason))
