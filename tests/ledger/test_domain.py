"""Pure rules of the ledger domain, with properties checked by hypothesis."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain import (
    Account,
    AccountCategory,
    AccountSpec,
    EntryKind,
    EntryRequest,
    IdempotencyKey,
    LotKind,
    PostingLine,
    Restriction,
    business_date,
    lot_is_eligible,
    lot_spending_key,
    plan_lot_refund,
    plan_lot_spend,
    require_code,
    require_currency_code,
    require_region_code,
)
from ledger.errors import InsufficientFunds, InvalidAmount, InvalidRequest

NOW = datetime(2026, 12, 15, 3, 0, tzinfo=UTC)


@st.composite
def lots(draw: st.DrawFn) -> list[Account]:
    count = draw(st.integers(min_value=0, max_value=8))
    result = []
    for index in range(count):
        expires = draw(st.one_of(st.none(), st.integers(-5, 90)))
        posted = draw(st.integers(0, 20_000))
        result.append(
            Account(
                id=index + 1,
                currency="AIZU",
                code=f"wallet:w:{index}",
                category=AccountCategory.HOLDER,
                may_go_negative=False,
                holder_id="w",
                lot_kind=draw(st.sampled_from(LotKind)),
                restriction=draw(st.sampled_from([None, Restriction.LOCAL_SHOPS])),
                expires_at=None if expires is None else NOW + timedelta(days=expires),
                posted_balance=posted,
                pending_holds=draw(st.integers(0, posted)),
            )
        )
    return result


@given(lots(), st.integers(1, 100_000), st.booleans())
def test_a_payment_plan_pays_exactly_from_eligible_lots_in_order(
    wallet: list[Account], amount: int, at_local_shop: bool
) -> None:
    eligible = [lot for lot in wallet if lot_is_eligible(lot, at=NOW, at_local_shop=at_local_shop)]
    spendable = sum(lot.available_balance for lot in eligible)
    if spendable < amount:
        with pytest.raises(InsufficientFunds):
            plan_lot_spend(wallet, amount, at=NOW, at_local_shop=at_local_shop)
        return
    plan = plan_lot_spend(wallet, amount, at=NOW, at_local_shop=at_local_shop)
    by_id = {lot.id: lot for lot in wallet}
    assert sum(-line.amount for line in plan) == amount
    for line in plan:
        lot = by_id[line.account_id]
        assert lot in eligible
        assert 0 < -line.amount <= lot.available_balance
    # Each lot used before the last one was drained; no later lot was touched before it.
    used = [by_id[line.account_id] for line in plan]
    assert used == sorted(used, key=lot_spending_key)
    for lot in used[:-1]:
        assert (
            -next(line.amount for line in plan if line.account_id == lot.id)
            == lot.available_balance
        )
    skipped = [
        lot
        for lot in sorted(eligible, key=lot_spending_key)
        if lot not in used and lot.available_balance > 0
    ]
    assert all(lot_spending_key(lot) > lot_spending_key(used[-1]) for lot in skipped)


def lot(lot_id: int, *, expires_in_days: int | None, restricted: bool = False) -> Account:
    return Account(
        id=lot_id,
        currency="AIZU",
        code=f"l{lot_id}",
        category=AccountCategory.HOLDER,
        may_go_negative=False,
        holder_id="w",
        lot_kind=LotKind.PREMIUM,
        restriction=Restriction.LOCAL_SHOPS if restricted else None,
        expires_at=None if expires_in_days is None else NOW + timedelta(days=expires_in_days),
        posted_balance=100,
        pending_holds=0,
    )


def test_spending_order_is_soonest_expiry_then_restricted_then_oldest() -> None:
    never = lot(1, expires_in_days=None)
    late_general = lot(2, expires_in_days=60)
    late_local = lot(3, expires_in_days=60, restricted=True)
    soon_general = lot(4, expires_in_days=5)
    ordered = sorted([never, late_general, late_local, soon_general], key=lot_spending_key)
    assert [a.id for a in ordered] == [4, 3, 2, 1]


def test_expired_and_restricted_lots_are_not_eligible_at_a_chain() -> None:
    assert not lot_is_eligible(lot(1, expires_in_days=-1), at=NOW, at_local_shop=True)
    assert not lot_is_eligible(
        lot(2, expires_in_days=9, restricted=True), at=NOW, at_local_shop=False
    )
    assert lot_is_eligible(lot(3, expires_in_days=9, restricted=True), at=NOW, at_local_shop=True)


def test_business_date_is_tokyo() -> None:
    assert business_date(datetime(2026, 11, 30, 15, 0, tzinfo=UTC)) == date(2026, 12, 1)
    assert business_date(datetime(2026, 11, 30, 14, 59, tzinfo=UTC)) == date(2026, 11, 30)
    with pytest.raises(InvalidRequest):
        business_date(datetime(2026, 11, 30, 14, 59))


@given(st.lists(st.integers(-(10**6), 10**6).filter(bool), min_size=1, max_size=6))
def test_fingerprint_ignores_line_order_but_not_amounts(amounts: list[int]) -> None:
    lines = [PostingLine(i + 1, a) for i, a in enumerate(amounts)]
    lines.append(PostingLine(len(lines) + 1, -sum(amounts)) if sum(amounts) else PostingLine(99, 1))
    if sum(line.amount for line in lines) != 0:
        lines.append(PostingLine(100, -1))
    request = EntryRequest("AIZU", EntryKind.TRANSFER, tuple(lines))
    shuffled = EntryRequest("AIZU", EntryKind.TRANSFER, tuple(reversed(lines)))
    assert request.fingerprint() == shuffled.fingerprint()
    other = EntryRequest("AIZU", EntryKind.PAYMENT, tuple(lines))
    assert request.fingerprint() != other.fingerprint()


def test_specs_and_keys_check_themselves() -> None:
    with pytest.raises(InvalidRequest):
        AccountSpec("AIZU", "system:x", AccountCategory.SYSTEM, True, holder_id="w")
    with pytest.raises(InvalidRequest):
        AccountSpec(
            "AIZU",
            "wallet:w:p",
            AccountCategory.HOLDER,
            True,
            holder_id="w",
            lot_kind=LotKind.PURCHASED,
        )
    with pytest.raises(InvalidRequest):
        AccountSpec("AIZU", "BAD CODE", AccountCategory.SYSTEM, True)
    with pytest.raises(InvalidRequest):
        AccountSpec("aizu", "system:x", AccountCategory.SYSTEM, True)
    with pytest.raises(InvalidRequest):
        IdempotencyKey("scope", "")


@given(lots(), st.integers(1, 50_000), st.lists(st.integers(1, 20_000), max_size=6))
def test_refunds_undo_a_payment_from_its_end_and_never_return_twice(
    wallet: list[Account], amount: int, refund_amounts: list[int]
) -> None:
    eligible = [lot for lot in wallet if lot_is_eligible(lot, at=NOW, at_local_shop=True)]
    if sum(lot.available_balance for lot in eligible) < amount:
        return
    spent = {
        line.account_id: -line.amount
        for line in plan_lot_spend(wallet, amount, at=NOW, at_local_shop=True)
    }
    spending_order = [lot.id for lot in sorted(wallet, key=lot_spending_key) if lot.id in spent]
    returned: dict[int, int] = {}
    for refund in refund_amounts:
        left = sum(spent.values()) - sum(returned.values())
        if refund > left:
            with pytest.raises(InvalidAmount):
                plan_lot_refund(wallet, spent, returned, refund)
            continue
        plan = plan_lot_refund(wallet, spent, returned, refund)
        assert sum(plan.values()) == refund
        for lot_id, points in plan.items():
            returned[lot_id] = returned.get(lot_id, 0) + points
            assert points > 0 and returned[lot_id] <= spent[lot_id]
        # Returned so far is a suffix of the spending order: later lots are full before earlier.
        partly = [i for i in spending_order if returned.get(i, 0) > 0]
        assert partly == spending_order[len(spending_order) - len(partly) :]
        for lot_id in partly[1:]:
            assert returned[lot_id] == spent[lot_id]


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (lambda v: require_code(v, what="code"), "system:cash"),
        (require_currency_code, "AIZU"),
        (require_region_code, "aizu"),
    ],
)
def test_a_code_with_a_trailing_line_feed_is_refused(
    check: Callable[[str], str], value: str
) -> None:
    assert check(value) == value
    for variant in (f"{value}\n", f"\n{value}", f"{value}\r\n"):
        with pytest.raises(InvalidRequest):
            check(variant)
