"""An action in the audit log, and a day's seal over the actions recorded on it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ledger.keys import key_id

# The roles whose every change is recorded, whatever they change: those who run the service.
# (A resident's or a shop's own payments are in the books already.)
PRIVILEGED_ROLES = frozenset({"operator", "campaign_admin", "supervisor", "cashier"})


@dataclass(frozen=True, slots=True)
class Action:
    """What is recorded of a change, before the log gives it its id and time."""

    actor_subject: str  # pseudonymous, as the token names it
    actor_roles: tuple[str, ...]
    action: str  # the operation's name, e.g. suspend_merchant
    method: str
    route: str  # the path as declared, e.g. /v1/merchants/{merchant_id}/suspension
    target: dict[str, str]  # the path's parameters: what was acted on
    resource_id: str | None  # what the action made or changed, when its answer names it
    status: int
    idempotency_key: str | None
    request_id: str | None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: int
    recorded_at: datetime
    action: Action

    def leaf(self) -> bytes:
        """The event as its day's seal hashes it: JSON with sorted keys, no spaces, UTF-8, the
        time in UTC to the microsecond."""
        document: dict[str, Any] = {
            "id": self.id,
            "recorded_at": self.recorded_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actor_subject": self.action.actor_subject,
            "actor_roles": sorted(self.action.actor_roles),
            "action": self.action.action,
            "method": self.action.method,
            "route": self.action.route,
            "target": self.action.target,
            "resource_id": self.action.resource_id,
            "status": self.action.status,
            "idempotency_key": self.action.idempotency_key,
            "request_id": self.action.request_id,
        }
        return json.dumps(
            document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()


def audit_seal_message(day: date, event_count: int, root: str, previous_root: str) -> bytes:
    """What the platform key signs: four lines after a version line of their own (never a
    currency's seal), UTF-8, no final newline."""
    lines = ("aizu-audit-seal-v1", day.isoformat(), str(event_count), root, previous_root)
    return "\n".join(lines).encode()


@dataclass(frozen=True, slots=True)
class AuditSeal:
    business_date: date
    event_count: int
    first_event_id: int | None
    last_event_id: int | None
    root: str  # hex
    previous_root: str  # hex
    signature: str  # hex, Ed25519 over audit_seal_message
    public_key: str  # hex
    sealed_at: datetime
    # As for the books' seals: a day sealed by a key revoked since is signed anew by a valid
    # one; `signature` and `public_key` are then the newest, `sealed_with` the night's own.
    resigned_at: datetime | None = None
    sealed_with: tuple[str, str] | None = None

    @property
    def key_id(self) -> str:
        return key_id(bytes.fromhex(self.public_key))

    @property
    def message(self) -> bytes:
        return audit_seal_message(
            self.business_date, self.event_count, self.root, self.previous_root
        )
