"""The audit log as the API shows it."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from wallet_api.audit.domain import AuditEvent
from wallet_api.http.schemas.record import RecordOut
from wallet_api.http.schemas.seals import RESIGNED_AT


class AuditEventOut(BaseModel):
    """One change made by someone who runs the service (or a resident's consent). The
    canonical JSON of these fields (sorted keys, no spaces, UTF-8, `recorded_at` in UTC to
    the microsecond, `actor_roles` sorted) is the event's leaf in its day's audit seal."""

    id: int
    recorded_at: datetime
    actor_subject: str = Field(description="The caller's pseudonymous subject.")
    actor_roles: list[str]
    action: str = Field(description="The operation's name, as in the API's documentation.")
    method: str
    route: str = Field(description="The path as declared, e.g. /v1/merchants/{merchant_id}/…")
    target: dict[str, str] = Field(description="The path's parameters: what was acted on.")
    resource_id: str | None = Field(description="The id of what the action made or changed.")
    status: int
    idempotency_key: str | None
    request_id: str | None = Field(description="The request's X-Request-ID, as in the logs.")
    leaf: str = Field(description="The canonical JSON the day's seal hashes.")

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventOut:
        action = event.action
        return cls(
            id=event.id,
            recorded_at=event.recorded_at,
            actor_subject=action.actor_subject,
            actor_roles=sorted(action.actor_roles),
            action=action.action,
            method=action.method,
            route=action.route,
            target=action.target,
            resource_id=action.resource_id,
            status=action.status,
            idempotency_key=action.idempotency_key,
            request_id=action.request_id,
            leaf=event.leaf().decode(),
        )


class AuditEventList(BaseModel):
    events: list[AuditEventOut]
    next_after: int | None = Field(
        description="Pass as `after` for the next page (which may be empty); null: no more."
    )


class AuditSealOut(RecordOut):
    """A business date's seal over the audit log. `message` is the exact UTF-8 text
    `signature` signs."""

    business_date: date
    event_count: int
    first_event_id: int | None
    last_event_id: int | None
    root: str = Field(description="Merkle root of the day's events' leaves, hex (RFC 9162).")
    previous_root: str = Field(description="The day before's root; 64 zeros for the first.")
    message: str
    signature: str = Field(description="Ed25519 over `message`, hex.")
    public_key: str
    key_id: str = Field(description="The key's `kid` in `/v1/keys`.")
    sealed_at: datetime
    resigned_at: datetime | None = Field(description=RESIGNED_AT)
