"""A refused spend says whether the lots for local shops only would have paid it at a local
shop, so the wallet can tell "too few points" from "points this shop does not take"."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain import Account, lot_is_eligible, plan_lot_spend
from ledger.errors import InsufficientFunds
from tests.ledger.test_domain import NOW, lot, lots


def test_restricted_points_that_would_pay_at_a_local_shop_are_named() -> None:
    wallet = [lot(1, expires_in_days=30, restricted=True), lot(2, expires_in_days=None)]
    with pytest.raises(InsufficientFunds) as refused:
        plan_lot_spend(wallet, 150, at=NOW, at_local_shop=False)
    assert refused.value.local_only is True
    assert refused.value.extra() == {"local_only": True}


def test_more_than_every_lot_holds_is_not_a_local_only_refusal() -> None:
    wallet = [lot(1, expires_in_days=30, restricted=True), lot(2, expires_in_days=None)]
    with pytest.raises(InsufficientFunds) as at_chain:
        plan_lot_spend(wallet, 201, at=NOW, at_local_shop=False)
    assert at_chain.value.extra() == {"local_only": False}
    with pytest.raises(InsufficientFunds) as at_local:
        plan_lot_spend(wallet, 201, at=NOW, at_local_shop=True)
    assert at_local.value.extra() == {"local_only": False}


def test_expired_restricted_points_do_not_count() -> None:
    wallet = [lot(1, expires_in_days=-1, restricted=True), lot(2, expires_in_days=None)]
    with pytest.raises(InsufficientFunds) as refused:
        plan_lot_spend(wallet, 150, at=NOW, at_local_shop=False)
    assert refused.value.local_only is False


def test_other_shortfalls_carry_no_local_only_member() -> None:
    assert InsufficientFunds("the budget is spent", account_id=7).extra() == {}


@given(lots(), st.integers(1, 100_000))
def test_local_only_is_exactly_a_chain_refusal_a_local_shop_would_take(
    wallet: list[Account], amount: int
) -> None:
    def spendable(at_local_shop: bool) -> int:
        return sum(
            lot.available_balance
            for lot in wallet
            if lot_is_eligible(lot, at=NOW, at_local_shop=at_local_shop)
        )

    if spendable(False) >= amount:
        return
    with pytest.raises(InsufficientFunds) as refused:
        plan_lot_spend(wallet, amount, at=NOW, at_local_shop=False)
    assert refused.value.local_only is (spendable(True) >= amount)
