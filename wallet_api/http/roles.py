"""The roles each endpoint admits, declared once: an endpoint takes one of these as its caller,
and anyone without a listed role is answered 403. The role matrix test reads them back."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from wallet_api.actor import Actor, Role
from wallet_api.errors import Forbidden
from wallet_api.http.auth import Allow

AnyRole = Annotated[Actor, Depends(Allow(*Role))]
Holder = Annotated[Actor, Depends(Allow(Role.RESIDENT, Role.VISITOR))]
HolderOrOperator = Annotated[Actor, Depends(Allow(Role.RESIDENT, Role.VISITOR, Role.OPERATOR))]
ResidentOrOperator = Annotated[Actor, Depends(Allow(Role.RESIDENT, Role.OPERATOR))]
PayerOrPayee = Annotated[Actor, Depends(Allow(Role.RESIDENT, Role.VISITOR, Role.MERCHANT_STAFF))]
Staff = Annotated[Actor, Depends(Allow(Role.MERCHANT_STAFF))]
StaffOrOperator = Annotated[Actor, Depends(Allow(Role.MERCHANT_STAFF, Role.OPERATOR))]
Cashier = Annotated[Actor, Depends(Allow(Role.CASHIER))]
CashierOrOperator = Annotated[Actor, Depends(Allow(Role.CASHIER, Role.OPERATOR))]
CashierOrStaff = Annotated[Actor, Depends(Allow(Role.CASHIER, Role.MERCHANT_STAFF))]
Supervisor = Annotated[Actor, Depends(Allow(Role.SUPERVISOR))]
Operator = Annotated[Actor, Depends(Allow(Role.OPERATOR))]
OperatorOrAuditor = Annotated[Actor, Depends(Allow(Role.OPERATOR, Role.AUDITOR))]
Auditor = Annotated[Actor, Depends(Allow(Role.AUDITOR))]
# Who finds a receipt from its paper, and who reads a day's fee revenue (the supervisor closes
# the day with the cashiers).
ReceiptReader = Annotated[
    Actor, Depends(Allow(Role.CASHIER, Role.SUPERVISOR, Role.OPERATOR, Role.AUDITOR))
]
# Those who oversee city hall's counters: their revenue, their list.
CityHallOverseer = Annotated[Actor, Depends(Allow(Role.SUPERVISOR, Role.OPERATOR, Role.AUDITOR))]
CampaignAdmin = Annotated[Actor, Depends(Allow(Role.CAMPAIGN_ADMIN))]
CampaignReader = Annotated[Actor, Depends(Allow(Role.CAMPAIGN_ADMIN, Role.ECONOMIST, Role.AUDITOR))]
StatisticsReader = Annotated[Actor, Depends(Allow(Role.ECONOMIST, Role.AUDITOR, Role.OPERATOR))]


async def _cashier_at_counter(counter_id: str, actor: Cashier) -> Actor:
    if not actor.is_cashier_at(counter_id):
        raise Forbidden("a cashier acts only at the counter of their token")
    return actor


async def _at_counter_or_operator(counter_id: str, actor: CashierOrOperator) -> Actor:
    if not actor.has(Role.OPERATOR) and not actor.is_cashier_at(counter_id):
        raise Forbidden("a cashier acts only at the counter of their token")
    return actor


# For paths naming a `counter_id`: its own cashier (or an operator) only.
CounterCashier = Annotated[Actor, Depends(_cashier_at_counter)]
CounterCashierOrOperator = Annotated[Actor, Depends(_at_counter_or_operator)]
