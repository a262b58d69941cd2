"""Who may take part in a campaign, read from the resident register: age, district and the
household cap, sequentially and under concurrency, over HTTP on real PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.ledger.books import assert_books_ok
from tests.wallet_api.http.api import Api, Region, new_region, top_up
from tests.wallet_api.http.test_campaigns import buy, campaign
from wallet_api.actor import Role

Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class Resident:
    subject: str
    wallet_id: str
    headers: dict[str, str]


async def resident(
    api: Api,
    region: Region,
    *,
    household: str | None = None,
    district: str = "Kitaaizu",
    born: str = "1980-05-05",
    funds: int = 30_000,
    role: Role = Role.RESIDENT,
) -> Resident:
    """A wallet holder with `funds`, and, if `household` is given, the register's record of them."""
    subject = f"s-{secrets.token_hex(6)}"
    headers = api.token(role, subject)
    opened = await api.post("/v1/wallets", headers, {"region": region.code})
    assert opened.status_code == 201, opened.text
    wallet_id = opened.json()["id"]
    if funds:
        assert (await top_up(api, region, wallet_id, funds)).status_code == 201
    if household is not None:
        record = {"subject": subject, "household": household, "district": district}
        recorded = await api.post(
            "/v1/resident-register",
            api.token(Role.CAMPAIGN_ADMIN),
            {"records": [{**record, "birth_date": born}]},
        )
        assert recorded.status_code == 200, recorded.text
    return Resident(subject, wallet_id, headers)


async def test_age_and_district_come_from_the_resident_register(api: Api) -> None:
    region = await new_region(api)
    campaign_id = await campaign(
        api, region, eligibility={"min_age": 65, "districts": ["Kitaaizu", "Minamiaizu"]}
    )
    household = f"h-{secrets.token_hex(4)}"
    elder = await resident(api, region, household=household, born="1950-01-10")
    young = await resident(api, region, household=household, born="1990-01-10")
    elsewhere = await resident(api, region, household=household, born="1950-01-10", district="Oze")
    unrecorded = await resident(api, region)

    assert (await buy(api, campaign_id, elder.wallet_id, elder.headers)).status_code == 201
    for refused, why in (
        (young, "ages 65 and over"),
        (elsewhere, "other districts"),
        (unrecorded, "record"),
    ):
        response = await buy(api, campaign_id, refused.wallet_id, refused.headers)
        assert (response.status_code, response.json()["code"]) == (403, "not_eligible")
        assert why in response.json()["detail"]

    # A corrected record counts from then on: the register says the young one was born earlier.
    corrected = await api.post(
        "/v1/resident-register",
        api.token(Role.CAMPAIGN_ADMIN),
        {
            "records": [
                {
                    "subject": young.subject,
                    "household": household,
                    "district": "Minamiaizu",
                    "birth_date": "1940-02-02",
                }
            ]
        },
    )
    assert corrected.status_code == 200
    assert (await buy(api, campaign_id, young.wallet_id, young.headers)).status_code == 201


async def test_the_register_is_kept_by_campaign_admins_only(api: Api) -> None:
    body = {
        "records": [
            {"subject": "s-x", "household": "h-x", "district": "Oze", "birth_date": "2000-01-01"}
        ]
    }
    for role in (Role.RESIDENT, Role.ECONOMIST, Role.MERCHANT_STAFF):
        refused = await api.post("/v1/resident-register", api.token(role), body)
        assert refused.status_code == 403, role
    bad_date = {"records": [{**body["records"][0], "birth_date": "2000-02-30"}]}
    invalid = await api.post("/v1/resident-register", api.token(Role.CAMPAIGN_ADMIN), bad_date)
    assert (invalid.status_code, invalid.json()["code"]) == (422, "validation_error")


async def test_a_households_members_share_its_cap(api: Api, sessions: Sessions) -> None:
    region = await new_region(api)
    campaign_id = await campaign(api, region, sets_per_person=2, sets_per_household=3)
    household = f"h-{secrets.token_hex(4)}"
    mother = await resident(api, region, household=household)
    father = await resident(api, region, household=household)
    neighbour = await resident(api, region, household=f"h-{secrets.token_hex(4)}")
    unrecorded = await resident(api, region)

    assert (await buy(api, campaign_id, mother.wallet_id, mother.headers, 2)).status_code == 201
    over = await buy(api, campaign_id, father.wallet_id, father.headers, 2)
    assert (over.status_code, over.json()["code"]) == (409, "household_cap_reached")
    assert (await buy(api, campaign_id, father.wallet_id, father.headers, 1)).status_code == 201
    assert (
        await buy(api, campaign_id, neighbour.wallet_id, neighbour.headers, 2)
    ).status_code == 201
    without = await buy(api, campaign_id, unrecorded.wallet_id, unrecorded.headers)
    assert (without.status_code, without.json()["code"]) == (403, "not_eligible")
    await assert_books_ok(sessions)


async def test_a_households_concurrent_purchases_stop_at_its_cap(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    campaign_id = await campaign(api, region, sets_per_person=2, sets_per_household=3)
    household = f"h-{secrets.token_hex(4)}"
    members = [await resident(api, region, household=household) for _ in range(5)]
    # Each member fires two one-set purchases at once: ten requests for a cap of three.
    responses = await asyncio.gather(
        *(buy(api, campaign_id, m.wallet_id, m.headers) for m in members for _ in range(2))
    )
    outcomes = Counter(r.json()["code"] if r.status_code != 201 else "bought" for r in responses)
    assert outcomes == {"bought": 3, "household_cap_reached": 7}
    await assert_books_ok(sessions)
