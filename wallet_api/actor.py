"""Who acts: an identity subject, the roles it holds, and the shop or counter a scoped role is
bound to. The HTTP layer makes one from a bearer token; the CLI and the simulation make their
own. Services take it as a plain value."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    RESIDENT = "resident"
    VISITOR = "visitor"
    MERCHANT_STAFF = "merchant_staff"  # scoped to one merchant
    CASHIER = "cashier"  # scoped to one counter
    SUPERVISOR = "supervisor"  # approves refunds of city fees
    CAMPAIGN_ADMIN = "campaign_admin"
    ECONOMIST = "economist"
    AUDITOR = "auditor"
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class Actor:
    subject: str
    roles: frozenset[Role]
    merchant: str | None = None
    counter: str | None = None

    def has(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)

    def is_staff_of(self, merchant_id: str) -> bool:
        return self.has(Role.MERCHANT_STAFF) and self.merchant == merchant_id

    def is_cashier_at(self, counter_id: str) -> bool:
        return self.has(Role.CASHIER) and self.counter == counter_id
