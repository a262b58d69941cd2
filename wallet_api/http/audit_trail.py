"""What the audit log records of a request that changed something: the caller, the operation
and what it named, the answer's status and the id of what it made."""

from __future__ import annotations

from fastapi import Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from wallet_api.actor import Actor, Role
from wallet_api.audit import service as audit
from wallet_api.audit.domain import PRIVILEGED_ROLES, Action

_PRIVILEGED = tuple(Role(role) for role in PRIVILEGED_ROLES)


async def record_change(
    session: AsyncSession,
    request: Request,
    actor: Actor,
    status: int,
    answer: BaseModel | None,
    *,
    idempotency_key: str | None,
    for_everyone: bool,
) -> None:
    """Record the change in the session's transaction if the caller runs the service (or the
    operation is audited for everyone, as consent is). The body is never recorded: it may
    hold a bank account or a resident's demographics."""
    if not (for_everyone or actor.has(*_PRIVILEGED)):
        return
    route = request.scope["route"]
    made = getattr(answer, "id", None)
    await audit.record(
        session,
        Action(
            actor_subject=actor.subject,
            actor_roles=tuple(sorted(role.value for role in actor.roles)),
            action=route.name,
            method=request.method,
            route=route.path,
            target={name: str(value) for name, value in request.path_params.items()},
            resource_id=None if made is None else str(made),
            status=status,
            idempotency_key=idempotency_key,
            request_id=getattr(request.state, "request_id", None),
        ),
    )
