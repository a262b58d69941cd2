"""What the service keeps for a while only (answers to Idempotency-Keys, payment nonces, browser
sessions, PIN attempts) is forgotten once the while is over, and nothing sooner; a code whose
nonce is forgotten is still refused, as expired. On real PostgreSQL, through the HTTP API."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.wallet_api.cli.test_cli import aizu
from tests.wallet_api.http.api import Api, new_region
from tests.wallet_api.http.test_cards import authenticate, card_of
from tests.wallet_api.http.test_payments import dynamic_code, pay, payer, posted, shop
from wallet_api.cli.tidy import KEPT, tidy


async def count(sessions: async_sessionmaker[AsyncSession], query: str, **values: object) -> int:
    async with sessions() as session:
        return int((await session.execute(text(query), values)).scalar_one())


async def test_tidy_forgets_what_is_past_its_while_and_keeps_the_rest(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    region = await new_region(api)
    ramen = await shop(api, region)
    earlier, later = await payer(api, region, 10_000), await payer(api, region, 10_000)
    brief = dynamic_code(ramen, 100, minutes=0.05)  # three seconds
    lasting = dynamic_code(ramen, 100)
    paid_earlier = await pay(api, earlier, brief, payee=ramen.id, amount=100)
    assert paid_earlier.status_code == 201, paid_earlier.text
    assert (await pay(api, later, lasting, payee=ramen.id, amount=100)).status_code == 201
    card = await card_of(api, region, earlier.wallet_id)
    assert (await authenticate(api, region, card["qr_payload"], "0000"))[0] == 403
    assert (await authenticate(api, region, card["qr_payload"], "4821"))[0] == 200
    sessions_of_test = f"tidy-{secrets.token_hex(4)}-"
    await asyncio.sleep(3.5)  # the brief code has expired

    # The earlier records aged past their while, as if the months had gone by.
    earlier_key = paid_earlier.request.headers["Idempotency-Key"]
    async with sessions() as session, session.begin():
        for query in (
            "UPDATE api_requests SET created_at = created_at - interval '31 days' WHERE key = :key",
            "UPDATE intent_nonces SET accepted_at = accepted_at - interval '31 days' "
            "WHERE wallet_id = :wallet",
            "UPDATE used_qr_nonces SET expires_at = expires_at - interval '31 days' "
            "WHERE terminal_id = :terminal AND expires_at < aizu_clock()",
            "UPDATE pin_attempts SET attempted_at = attempted_at - interval '91 days' "
            "WHERE card_id = :card AND NOT succeeded",
        ):
            await session.execute(
                text(query),
                {
                    "key": earlier_key,
                    "wallet": earlier.wallet_id,
                    "terminal": ramen.terminal_id,
                    "card": card["id"],
                },
            )
        # Three sessions expired for longer than their while (more than a batch), one not yet.
        for number, expiry in enumerate([-91, -92, -93, -89]):
            await session.execute(
                text(
                    "INSERT INTO browser_sessions (id, subject, expires_at) "
                    "VALUES (:id, 'resident-1', aizu_clock() + :expiry)"
                ),
                {"id": f"{sessions_of_test}{number}", "expiry": timedelta(days=expiry)},
            )

    forgotten = await tidy(sessions, batch=2)
    assert set(forgotten) == {kept.what for kept in KEPT}
    # The shared test database may hold aged rows of other tests: at least these went.
    assert all(count >= 1 for count in forgotten.values()), forgotten
    assert forgotten["browser sessions, after their expiry"] >= 3

    async def left() -> dict[str, int]:
        values = {
            "key": earlier_key,
            "earlier": earlier.wallet_id,
            "later": later.wallet_id,
            "terminal": ramen.terminal_id,
            "card": card["id"],
            "prefix": sessions_of_test + "%",
        }
        queries = {
            "earlier answer": "SELECT count(*) FROM api_requests WHERE key = :key",
            "earlier intent": "SELECT count(*) FROM intent_nonces WHERE wallet_id = :earlier",
            "later intent": "SELECT count(*) FROM intent_nonces WHERE wallet_id = :later",
            "codes paid": "SELECT count(*) FROM used_qr_nonces WHERE terminal_id = :terminal",
            "attempts": "SELECT count(*) FROM pin_attempts WHERE card_id = :card",
            "sessions": "SELECT count(*) FROM browser_sessions WHERE id LIKE :prefix",
        }
        return {
            name: await count(
                sessions, query, **{k: v for k, v in values.items() if f":{k}" in query}
            )
            for name, query in queries.items()
        }

    kept = {
        "earlier answer": 0,
        "earlier intent": 0,
        "later intent": 1,
        "codes paid": 1,  # the lasting code's
        "attempts": 1,  # the right PIN's, made today
        "sessions": 1,  # the one expired for less than its while
    }
    assert await left() == kept
    await tidy(sessions)  # again: what is within its while stays
    assert await left() == kept

    # Neither code can be paid again: the forgotten one's expiry says no before its nonce would.
    again = await pay(api, later, brief, payee=ramen.id, amount=100)
    assert again.json()["code"] == "qr_expired", again.text
    again = await pay(api, earlier, lasting, payee=ramen.id, amount=100)
    assert again.json()["code"] == "qr_reused", again.text
    assert await posted(api, earlier) == await posted(api, later) == 9_900


def test_the_command_says_what_it_forgot(database_url: URL) -> None:
    done = aizu("db", "tidy", database=database_url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(maxsplit=1)[1] for line in lines] == [kept.what for kept in KEPT]
    assert all(line.split()[0].replace(",", "").isdigit() for line in lines)
