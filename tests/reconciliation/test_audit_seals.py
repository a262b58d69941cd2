"""The audit log sealed by the nightly chain, on a city of its own: a day's root is the
Merkle root of its events as auditors read them, chained to the day before, signed with the
platform key; an event changed after its day was sealed shows in the check."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from nacl.signing import SigningKey
from sqlalchemy import text

from ledger.domain import business_date
from reconciliation.merkle import root_of
from reconciliation.nightly import Night, run_night
from tests.reconciliation.conftest import City, after
from tests.wallet_api.http.api import new_merchant, new_region
from tests.wallet_api.http.test_audit_log import all_events
from wallet_api.actor import Role
from wallet_api.audit.service import check_audit_seals
from wallet_api.nightly import STEPS

LEAF_FIELDS = (
    "id",
    "recorded_at",
    "actor_subject",
    "actor_roles",
    "action",
    "method",
    "route",
    "target",
    "resource_id",
    "status",
    "idempotency_key",
    "request_id",
)


def leaf_as_documented(event: dict[str, Any]) -> bytes:
    """The event's leaf from its fields, as the API's documentation describes it."""
    document = {name: event[name] for name in LEAF_FIELDS}
    moment = datetime.fromisoformat(event["recorded_at"]).astimezone(UTC)
    document["recorded_at"] = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


async def test_a_days_actions_are_sealed_chained_and_checked(city: City) -> None:
    api = city.api
    region = await new_region(api)
    merchant_id, _ = await new_merchant(api, region)
    suspended = await api.post(
        f"/v1/merchants/{merchant_id}/suspension",
        api.token(Role.OPERATOR, "operator-7"),
        {"reason": "licence"},
    )
    assert suspended.status_code == 200, suspended.text
    today = business_date(datetime.now(UTC))

    for day in (today, today + timedelta(days=1)):
        await run_night(city.sessions, Night(day, after(day), api.platform_key), STEPS)
    seals = (await api.client.get("/v1/audit-seals")).json()
    assert [s["business_date"] for s in seals] == [str(today), str(today + timedelta(days=1))]
    first, second = seals

    events = await all_events(api)
    assert [e["action"] for e in events] == [
        "create_region",
        "create_counter",
        "onboard_merchant",
        "suspend_merchant",
    ]
    leaves = [leaf_as_documented(e) for e in events]
    assert leaves == [e["leaf"].encode() for e in events]
    root = root_of([hashlib.sha256(b"\x00" + leaf).digest() for leaf in leaves]).hex()
    assert (first["event_count"], first["root"], first["previous_root"]) == (4, root, "0" * 64)
    assert (first["first_event_id"], first["last_event_id"]) == (events[0]["id"], events[-1]["id"])
    api.platform_key.verify_key.verify(first["message"].encode(), bytes.fromhex(first["signature"]))
    assert first["public_key"] == bytes(api.platform_key.verify_key).hex()
    assert (second["event_count"], second["previous_root"]) == (0, first["root"])

    async with city.sessions() as session:
        assert await check_audit_seals(session, api.platform_key.verify_key) == []
        # What a superuser could still do behind the log's back, caught by the seal.
        await session.execute(
            text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
        )
        await session.execute(
            text("UPDATE audit_events SET actor_subject = 'someone-else' WHERE id = :id"),
            {"id": events[-1]["id"]},
        )
        found = await check_audit_seals(session, api.platform_key.verify_key)
        assert [v.check for v in found] == ["audit_seals_match_events"]
        assert str(today) in found[0].detail
        await session.rollback()

    async with city.sessions() as session:
        kept = await session.execute(
            text("SELECT root FROM audit_seals WHERE business_date = :day"), {"day": today}
        )
        assert kept.scalar_one() == root  # the tampering was rolled back, the seal stays

    # A seal signed anew by someone else's key, under a superuser's hand, does not hold.
    stranger = SigningKey.generate()
    async with city.sessions() as session:
        await session.execute(
            text("ALTER TABLE audit_seals DISABLE TRIGGER audit_seals_append_only")
        )
        await session.execute(
            text(
                "UPDATE audit_seals SET public_key = :key, signature = :signature "
                "WHERE business_date = :day"
            ),
            {
                "key": bytes(stranger.verify_key).hex(),
                "signature": stranger.sign(first["message"].encode()).signature.hex(),
                "day": today,
            },
        )
        found = await check_audit_seals(session, api.platform_key.verify_key)
        assert [v.check for v in found] == ["audit_seals_signed"]
        assert "which is not one of the platform's" in found[0].detail
        await session.rollback()
