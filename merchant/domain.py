"""Shops, terminals and city counters as plain records."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Counter:
    """A place where a cashier takes cash (a city hall window, a service desk): every cash
    top-up there debits its drawer account, which the daily close reconciles with the cash."""

    id: str
    region: str
    currency: str
    name: str
    drawer_account_id: int
