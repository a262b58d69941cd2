"""The audit log's SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, insert, select
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncSession

from reconciliation.seals import with_newest_signature
from wallet_api.audit.domain import Action, AuditEvent, AuditSeal
from wallet_api.audit.models import audit_events, audit_seal_signatures, audit_seals


async def add_event(session: AsyncSession, action: Action) -> int:
    return int(
        (
            await session.execute(
                insert(audit_events)
                .values(
                    actor_subject=action.actor_subject,
                    actor_roles=list(action.actor_roles),
                    action=action.action,
                    method=action.method,
                    route=action.route,
                    target=action.target,
                    resource_id=action.resource_id,
                    status=action.status,
                    idempotency_key=action.idempotency_key,
                    request_id=action.request_id,
                )
                .returning(audit_events.c.id)
            )
        ).scalar_one()
    )


def _event_of(row: Any) -> AuditEvent:
    return AuditEvent(
        id=row.id,
        recorded_at=row.recorded_at,
        action=Action(
            actor_subject=row.actor_subject,
            actor_roles=tuple(row.actor_roles),
            action=row.action,
            method=row.method,
            route=row.route,
            target=dict(row.target),
            resource_id=row.resource_id,
            status=row.status,
            idempotency_key=row.idempotency_key,
            request_id=row.request_id,
        ),
    )


async def events(
    session: AsyncSession,
    *,
    after: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    actor_subject: str | None = None,
    limit: int | None = None,
) -> list[AuditEvent]:
    """Events by id, after the id `after`, recorded in [start, end), of one actor."""
    query = select(audit_events).order_by(audit_events.c.id)
    if after is not None:
        query = query.where(audit_events.c.id > after)
    if start is not None:
        query = query.where(audit_events.c.recorded_at >= start)
    if end is not None:
        query = query.where(audit_events.c.recorded_at < end)
    if actor_subject is not None:
        query = query.where(audit_events.c.actor_subject == actor_subject)
    if limit is not None:
        query = query.limit(limit)
    return [_event_of(row) for row in await session.execute(query)]


def _seal_of(row: Any) -> AuditSeal:
    resigned = row.resigned_signature is not None
    return AuditSeal(
        business_date=row.business_date,
        event_count=row.event_count,
        first_event_id=row.first_event_id,
        last_event_id=row.last_event_id,
        root=row.root,
        previous_root=row.previous_root,
        signature=row.resigned_signature if resigned else row.signature,
        public_key=row.resigned_public_key if resigned else row.public_key,
        sealed_at=row.sealed_at,
        resigned_at=row.resigned_at,
        sealed_with=(row.signature, row.public_key) if resigned else None,
    )


def _select_seals() -> Select[Any]:
    return with_newest_signature(audit_seals, audit_seal_signatures, "business_date")


async def seals(
    session: AsyncSession, *, since: date | None = None, until: date | None = None
) -> list[AuditSeal]:
    query = _select_seals().order_by(audit_seals.c.business_date)
    if since is not None:
        query = query.where(audit_seals.c.business_date >= since)
    if until is not None:
        query = query.where(audit_seals.c.business_date <= until)
    return [_seal_of(row) for row in await session.execute(query)]


async def seal_before(session: AsyncSession, day: date) -> AuditSeal | None:
    row = (
        await session.execute(
            _select_seals()
            .where(audit_seals.c.business_date < day)
            .order_by(audit_seals.c.business_date.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else _seal_of(row)


async def seal_of(session: AsyncSession, day: date) -> AuditSeal | None:
    row = (await session.execute(_select_seals().where(audit_seals.c.business_date == day))).first()
    return None if row is None else _seal_of(row)


async def add_seal(
    session: AsyncSession, day: date, leaves: Sequence[AuditEvent], **signed: str
) -> AuditSeal:
    await session.execute(
        insert(audit_seals).values(
            business_date=day,
            event_count=len(leaves),
            first_event_id=leaves[0].id if leaves else None,
            last_event_id=leaves[-1].id if leaves else None,
            **signed,
        )
    )
    return await _sealed(session, day)


async def add_signature(session: AsyncSession, day: date, public_key: str, signature: str) -> None:
    await session.execute(
        upsert(audit_seal_signatures)
        .values(business_date=day, public_key=public_key, signature=signature)
        .on_conflict_do_nothing()
    )


async def _sealed(session: AsyncSession, day: date) -> AuditSeal:
    found = await seal_of(session, day)
    assert found is not None
    return found
