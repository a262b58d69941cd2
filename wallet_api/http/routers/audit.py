"""HTTP endpoints of the audit log: its events for auditors; its daily seals for anyone."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from wallet_api.audit import service as audit
from wallet_api.http.deps import SessionDep
from wallet_api.http.roles import Auditor
from wallet_api.http.schemas.audit import AuditEventList, AuditEventOut, AuditSealOut

router = APIRouter(prefix="/v1", tags=["audit"])
# No token: a day's root is published like the books' seals; the events behind it are not.
public_router = APIRouter(prefix="/v1", tags=["audit"])


@router.get("/audit-events")
async def list_audit_events(
    session: SessionDep,
    actor: Auditor,
    after: Annotated[int | None, Query(ge=0, description="The last id of the page before.")] = None,
    day: Annotated[
        date | None, Query(description="Only the business date's events (Asia/Tokyo).")
    ] = None,
    subject: Annotated[str | None, Query(description="Only this actor's events.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditEventList:
    """Who changed what, and when: every change by an operator, a campaign administrator, a
    supervisor or a cashier, and every consent decision, oldest first. A business date's
    events, hashed as their `leaf`, give its audit seal's root."""
    found = await audit.events(
        session, after=after, day=day, actor_subject=subject, limit=limit + 1
    )
    page = found[:limit]
    return AuditEventList(
        events=[AuditEventOut.of(event) for event in page],
        next_after=page[-1].id if len(found) > limit else None,
    )


@public_router.get("/audit-seals")
async def list_audit_seals(
    session: SessionDep,
    since: Annotated[date | None, Query(description="First business date, inclusive.")] = None,
    until: Annotated[date | None, Query(description="Last business date, inclusive.")] = None,
) -> list[AuditSealOut]:
    """The audit log's seals in date order: each day's root over its events, chained to the
    day before's and signed with the platform key."""
    return [AuditSealOut.of(seal) for seal in await audit.seals(session, since=since, until=until)]
