"""A synthetic city: days of activity through the real service layer, then the nightly chain for
each, so that statistics, seals and the economists' feed have something to show.

Every parameter here is INVENTED: the shares of residents who pay, consent or apply, the amounts,
the sectors and districts' weights are plausible guesses, not measurements of any city. The days
simulated are the ones just past (the last is yesterday), so the books are then in step with the
real clock: the database's clock (`aizu_clock()`) and the service's (`utc_now()`) are shifted
together while a past day is played, and never otherwise.
"""

from __future__ import annotations

import base64
import logging
import random
import secrets
import time as timer
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

from nacl.signing import SigningKey
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import service as campaigns
from campaigns.domain import Eligibility, PremiumSets, ResidentRecord, SpendBack
from city_hall import service as city_hall
from city_hall.domain import Counter as CashCounter
from city_hall.fees import service as fees
from ledger import service as ledger
from ledger.database import create_engine, session_factory
from ledger.domain import (
    BUSINESS_TIMEZONE,
    IdempotencyKey,
    business_date,
    clock_offset,
    shifted_clock,
    utc_now,
)
from ledger.errors import DomainError, accepted
from ledger.keys import PublicKeys
from merchant import service as merchants
from merchant.domain import AccountType, BankAccount, Merchant, MerchantProfile, SizeClass
from merchant.errors import MerchantError
from merchant.settlement import service as settlement
from merchant.zengin import Originator
from reconciliation.nightly import Night, incomplete, left_incomplete, run_night
from wallet_api.actor import Actor, Role
from wallet_api.consent import service as consent
from wallet_api.consent.domain import AGE_BANDS, TERMS, Purpose
from wallet_api.devices import service as devices
from wallet_api.devices.domain import PaymentIntent
from wallet_api.nightly import STEPS
from wallet_api.payments import invoices
from wallet_api.payments import service as payments
from wallet_api.wallets import campaigns as wallet_campaigns
from wallet_api.wallets import service as wallets
from wallet_api.wallets.domain import Wallet

log = logging.getLogger(__name__)
T = TypeVar("T")

REGION, CURRENCY, COUNTER = "aizuwakamatsu", "AIZU", "city-hall-1"
# INVENTED: districts of the city and how many live in each.
DISTRICTS = {"Wakamatsu": 5, "Kitaaizu": 2, "Minato": 1, "Otomachi": 1, "Kawahigashi": 1}
# INVENTED: JSIC major groups of the shops (I retail, M food service, N personal services,
# P medical, E manufacturing, H transport, D construction) and their weights.
SECTORS = {"I": 35, "M": 30, "N": 10, "P": 8, "E": 7, "H": 5, "D": 5}
SUPPLIERS = {"M": "E", "I": "E", "N": "I", "P": "I", "E": "D", "H": "I", "D": "E"}


@dataclass(frozen=True, slots=True)
class Parameters:
    """The city's size and its INVENTED behaviour."""

    residents: int = 200
    shops: int = 20
    days: int = 2
    seed: int = 1
    visitor_share: float = 0.05
    consent_share: float = 0.6  # of residents, to statistics, with their demographics
    payer_share: float = 0.7  # of people, with a phone registered
    pay_chance: float = 0.6  # a payer pays on a given day
    refund_share: float = 0.02  # of payments
    b2b_chance: float = 0.3  # a shop pays its supplier on a given day
    fee_share: float = 0.01  # of residents pay a certificate at city hall on a given day
    lottery_share: float = 0.3  # of residents apply for premium sets
    large_chain_share: float = 0.05
    refill_share: float = 0.8  # of people with a phone and little left, top up again that day


@dataclass(slots=True)
class Person:
    wallet: Wallet
    actor: Actor
    key: SigningKey | None
    device_id: str | None
    resident: bool


@dataclass(slots=True)
class Report:
    parameters: Parameters
    days: list[date] = field(default_factory=list)
    payments: int = 0
    refused_payments: int = 0
    refunds: int = 0
    b2b: int = 0
    fees: int = 0
    payouts_batched: int = 0  # in the nights' payout batches (Zengin files for the bank)
    payouts: int = 0  # paid out in yen by the bank, on their transfer day
    lottery_winners: int = 0
    sets_sold: int = 0
    refills: int = 0  # top-ups at the counter after the first
    seconds: dict[str, float] = field(default_factory=dict)
    refusals: Counter[str] = field(default_factory=Counter)  # by error code


class City:
    """The simulation's state and its clock. One database connection, used in turn: moving the
    clock shifts it for that connection and for `utc_now()`."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        parameters: Parameters,
        platform_key: SigningKey,
        export_dir: Path | None,
        k_threshold: int,
    ) -> None:
        self.sessions = sessions
        self.p = parameters
        self.random = random.Random(parameters.seed)  # noqa: S311 - reproducible, not secret
        self.platform_key = platform_key
        self.platform_keys = PublicKeys.of(platform_key.verify_key)
        self.export_dir = export_dir
        self.k_threshold = k_threshold
        self.people: list[Person] = []
        self.shops: list[Merchant] = []
        self.report = Report(parameters)

    async def _shift_database(self, offset: timedelta) -> None:
        async with self.sessions() as session:
            await session.execute(
                text("SELECT set_config('aizu.clock_offset', :offset, false)"),
                {"offset": f"{offset.total_seconds()} seconds"},
            )
            await session.commit()  # a setting made in a transaction rolled back is undone

    @asynccontextmanager
    async def clock(self, moment: datetime) -> AsyncIterator[None]:
        """Live from `moment` on, in the service and in the database, until the block ends."""
        offset = moment - datetime.now(UTC)
        outer = clock_offset()
        await self._shift_database(offset)
        try:
            with shifted_clock(offset):
                yield
        finally:
            await self._shift_database(outer)

    async def step(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T | None:
        """One unit of work in its own transaction; a refusal is counted, not raised."""
        async with self.sessions() as session:
            try:
                done = await work(session)
            except DomainError as refused:
                await session.rollback()
                self.report.refusals[refused.code] += 1
                return None
            await session.commit()
            return done

    async def steps(
        self, works: Sequence[Callable[[AsyncSession], Awaitable[T]]]
    ) -> list[T | None]:
        """Units of work, `CHUNK` to a transaction, each in a savepoint of its own: a refusal
        is counted and undoes only its own unit."""
        done: list[T | None] = []
        for chunk in chunks(works, CHUNK):
            async with self.sessions() as session:
                for work in chunk:
                    savepoint = await session.begin_nested()
                    try:
                        done.append(await work(session))
                    except DomainError as refused:
                        await savepoint.rollback()
                        self.report.refusals[refused.code] += 1
                        done.append(None)
                    else:
                        await savepoint.commit()
                await session.commit()
        return done

    def pick(self, weights: dict[str, int]) -> str:
        return self.random.choices(list(weights), list(weights.values()))[0]


CHUNK = 500  # units of work per transaction where the simulation batches them
TOP_UPS = (3_000, 5_000, 10_000, 20_000, 30_000)  # INVENTED: yen brought to the counter
LOW = 2_000  # INVENTED: points left below which people think of topping up


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BUSINESS_TIMEZONE).astimezone(UTC)


def _public_key(key: SigningKey) -> str:
    return base64.urlsafe_b64encode(bytes(key.verify_key)).decode().rstrip("=")


async def set_up(city: City, first_day: date) -> None:
    """The region, city hall, shops and people, on the morning of the first day."""
    p, rng = city.p, city.random

    async def region(session: AsyncSession) -> None:
        await wallets.set_up_region(
            session,
            code=REGION,
            name="Aizuwakamatsu (simulated)",
            currency=CURRENCY,
            currency_name="Aizu coin",
        )
        await city_hall.open_counter(
            session, counter_id=COUNTER, name="City Hall, window 1", currency=CURRENCY
        )
        await fees.load_sample(session, REGION, valid_from=first_day, recorded_by="simulation")
        await settlement.set_profile(
            session,
            REGION,
            Originator("1234567890", "ｱｲﾂﾞﾜｶﾏﾂｼ", "0001", "ﾄｳﾎｳｷﾞﾝｺｳ", "001", "ﾎﾝﾃﾝ", "1", "7654321"),
            list(range(1, 32)),
        )

    await city.step(region)
    for number in range(p.shops):
        sector = city.pick(SECTORS)
        chain = sector == "I" and rng.random() < p.large_chain_share * 7
        profile = MerchantProfile(
            id=f"m-sim-{number:05d}",
            currency=CURRENCY,
            legal_name=f"Simulated shop {number}",
            display_name=f"Shop {number}",
            qr_name=f"Shop {number}",
            qr_city="Aizuwakamatsu",
            kana_name=f"ｼﾖﾂﾌﾟ{number}",
            mcc="5812" if sector == "M" else "5411",
            jsic_major=sector,
            district=city.pick(DISTRICTS),
            size_class=SizeClass.LARGE_CHAIN if chain else SizeClass.LOCAL,
            bank=BankAccount("0001", "123", AccountType.ORDINARY, f"{number:07d}", "ｼﾖﾂﾌﾟ"),
        )
        shop = await city.step(partial(merchants.onboard_merchant, profile=profile))
        assert shop is not None
        city.shops.append(shop)

    counter = await city.step(lambda s: city_hall.get_counter(s, COUNTER))
    assert counter is not None
    newcomers: list[Newcomer] = []
    records = []
    for number in range(p.residents):
        resident = rng.random() >= p.visitor_share
        subject = f"sim-{'resident' if resident else 'visitor'}-{number:06d}"
        pays = rng.random() < p.payer_share
        consents = resident and rng.random() < p.consent_share
        district = city.pick(DISTRICTS)
        newcomers.append(
            Newcomer(
                Actor(subject, frozenset({Role.RESIDENT if resident else Role.VISITOR})),
                SigningKey.generate() if pays else None,
                (rng.choice(AGE_BANDS[1:]), district) if consents else None,
                rng.choice(TOP_UPS),
            )
        )
        if resident:
            born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 70))
            records.append(ResidentRecord(subject, f"h-{number // 2:06d}", district, born))
    for some in chunks(newcomers, SET_UP_CHUNK):
        made = await city.step(partial(_move_in, counter=counter, newcomers=some))
        assert made is not None
        city.people.extend(made)
    await city.step(lambda s: campaigns.record_residents(s, records))


SET_UP_CHUNK = 2_000  # people moving in per transaction


@dataclass(frozen=True, slots=True)
class Newcomer:
    actor: Actor
    key: SigningKey | None  # of the phone, for those who pay with one
    demographics: tuple[str, str] | None  # (age band, district), for those who consent
    funds: int  # topped up at city hall on the first morning


async def _move_in(
    session: AsyncSession, counter: CashCounter, newcomers: Sequence[Newcomer]
) -> list[Person]:
    """Wallets opened, cash topped up at city hall, phones registered and consents given, for
    many people at once through the services' batch paths."""
    opened = accepted(await wallets.open_wallets(session, [n.actor for n in newcomers], REGION))
    accepted(
        await wallets.top_ups_at_counter(
            session,
            counter=counter,
            top_ups=[(w.id, n.funds) for w, n in zip(opened, newcomers, strict=True)],
        )
    )
    phones = [(w, n.key) for w, n in zip(opened, newcomers, strict=True) if n.key is not None]
    registered = accepted(
        await devices.register_devices(
            session, [(wallet, _public_key(key), "phone") for wallet, key in phones]
        )
    )
    device_of = {device.wallet_id: device.id for device in registered}
    described = [
        (w, n.demographics) for w, n in zip(opened, newcomers, strict=True) if n.demographics
    ]
    accepted(
        await consent.describe_wallets(
            session, [(wallet, age_band, district) for wallet, (age_band, district) in described]
        )
    )
    await consent.decide_for(
        session,
        [wallet for wallet, _ in described],
        Purpose.STATISTICS,
        granted=True,
        text_version=TERMS[Purpose.STATISTICS].text_version,
    )
    return [
        Person(w, n.actor, n.key, device_of.get(w.id), n.actor.has(Role.RESIDENT))
        for w, n in zip(opened, newcomers, strict=True)
    ]


async def pay_all(city: City, purchases: Sequence[tuple[Person, Merchant, int]]) -> None:
    """People scan the shops' printed codes and pay, many to a transaction through the
    payments' batch path (each accepted or refused on its own); some payments are refunded."""
    codes = {shop.id: merchants.static_code(shop, city.platform_key) for shop in city.shops}
    refunds: list[Callable[[AsyncSession], Awaitable[object]]] = []
    for some in chunks(purchases, CHUNK):
        orders = [
            payments.CodeOrder(person.actor, codes[shop.id], *_signed(person, shop.id, amount))
            for person, shop, amount in some
        ]
        receipts = await city.step(
            partial(payments.pay_codes, orders=orders, platform_keys=city.platform_keys)
        )
        assert receipts is not None
        for (_, shop, amount), receipt in zip(some, receipts, strict=True):
            if isinstance(receipt, DomainError):
                city.report.refused_payments += 1
                city.report.refusals[receipt.code] += 1
                continue
            city.report.payments += 1
            if city.random.random() < city.p.refund_share:
                staff = Actor(
                    f"staff-{shop.id}", frozenset({Role.MERCHANT_STAFF}), merchant=shop.id
                )
                refunds.append(
                    partial(
                        payments.refund_payment,
                        actor=staff,
                        payment_id=receipt.payment.id,
                        amount=amount // 2 or amount,
                    )
                )
    city.report.refunds += sum(done is not None for done in await city.steps(refunds))


async def campaigns_of_the_city(city: City, first_day: date) -> None:
    """The premium sets by lottery, and spend-back at local shops, from the first day on."""
    p, rng = city.p, city.random
    last_day = first_day + timedelta(days=p.days - 1)
    valid_until = at(last_day, 0) + timedelta(days=90)
    residents = [person for person in city.people if person.resident]
    async with city.clock(at(first_day, 8)):
        lottery = await city.step(
            lambda s: campaigns.create_campaign(
                s,
                campaign_id="cp-sim-premium",
                region=REGION,
                name="プレミアム付ポイント (simulated)",
                terms=PremiumSets(
                    price=10_000,
                    points_per_set=12_500,
                    restricted_points_per_set=6_250,
                    sets_per_person=2,
                    sets_per_household=None,
                    total_sets=max(1, len(residents) // 10),
                    applications_from=at(first_day, 8),
                    applications_until=at(first_day, 8, 30),
                    sale_from=at(first_day, 8, 30),
                    sale_until=valid_until,
                    valid_until=valid_until,
                ),
                eligibility=Eligibility(),
            )
        )
        await city.step(
            lambda s: campaigns.create_campaign(
                s,
                campaign_id="cp-sim-spend-back",
                region=REGION,
                name="地元応援 10% 還元 (simulated)",
                terms=SpendBack(
                    rate_basis_points=1_000,
                    per_payment_cap=500,
                    per_person_cap=3_000,
                    budget=100 * len(residents) + 1,
                    earn_from=at(first_day, 8),
                    earn_until=at(last_day, 23),
                    valid_until=valid_until,
                    local_shops_only=True,
                ),
                eligibility=Eligibility(merchant_size_classes=("local",)),
            )
        )
    assert lottery is not None
    applicants = [person for person in residents if rng.random() < p.lottery_share]
    async with city.clock(at(first_day, 8, 10)):
        applying = [(person.actor, person.wallet.id, rng.choice((1, 2))) for person in applicants]
        for applications in chunks(applying, SET_UP_CHUNK):
            applied = await city.step(
                partial(wallet_campaigns.apply_many, campaign_id=lottery.id, applying=applications)
            )
            for refused in (a for a in applied or () if isinstance(a, DomainError)):
                city.report.refusals[refused.code] += 1
    # Before the day's trade from 09:00: the clock only moves forward.
    async with city.clock(at(first_day, 8, 35)):
        drawn = await city.step(lambda s: campaigns.draw_lottery(s, lottery, now=utc_now()))
        assert drawn is not None
        by_application = {a.id: a for a in drawn.applications}
        city.report.lottery_winners = len(
            {g.application_id for r in drawn.rounds for g in r.grants}
        )
        people = {person.wallet.id: person for person in residents}
        winners = [
            (people[by_application[grant.application_id].wallet_id], grant.sets)
            for round_ in drawn.rounds
            for grant in round_.grants
        ]
        for some in chunks(winners, SET_UP_CHUNK):
            await city.step(partial(_bring_cash, city=city, campaign_id=lottery.id, winners=some))
        bought = await city.steps(
            [
                partial(_buy, campaign_id=lottery.id, person=person, sets=sets)
                for person, sets in winners
            ]
        )
        city.report.sets_sold += sum(sets or 0 for sets in bought)


async def _bring_cash(
    session: AsyncSession, city: City, campaign_id: str, winners: Sequence[tuple[Person, int]]
) -> None:
    """Winners bring the cash their sets cost to city hall's counter: the price is paid from
    purchased points, topped up to it where they fall short."""
    campaign = await campaigns.get_campaign(session, campaign_id)
    assert isinstance(campaign.terms, PremiumSets)
    balances = await wallets.wallet_balances(session, [person.wallet for person, _ in winners])
    short = []
    for person, sets in winners:
        held = sum(
            lot.balance.available
            for lot in balances[person.wallet.id].lots
            if lot.account.id == person.wallet.purchased_lot_id
        )
        if campaign.terms.price * sets > held:
            short.append((person.wallet.id, campaign.terms.price * sets - held))
    counter = await city_hall.get_counter(session, COUNTER)
    for done in await wallets.top_ups_at_counter(session, counter=counter, top_ups=short):
        if isinstance(done, DomainError):
            city.report.refusals[done.code] += 1


async def _buy(session: AsyncSession, campaign_id: str, person: Person, sets: int) -> int:
    purchase = await wallet_campaigns.buy_sets(
        session, person.actor, campaign_id, wallet_id=person.wallet.id, sets=sets
    )
    return purchase.sets


async def a_day(city: City, day: date) -> None:
    """Payments (some refunded), shops buying from their suppliers, certificates at city hall."""
    p, rng = city.p, city.random
    payers = [person for person in city.people if person.key is not None]
    local = [shop for shop in city.shops if shop.profile.size_class is SizeClass.LOCAL]
    async with city.clock(at(day, 9)):
        await _bank_pays_the_batches_of(city, day)
    async with city.clock(at(day, 10)):
        await _fees_at_city_hall(city)
        for some in chunks(payers, SET_UP_CHUNK):
            await city.step(partial(_refill, city=city, people=some))
    async with city.clock(at(day, 12)):
        purchases = []
        for person in payers:
            if rng.random() >= p.pay_chance:
                continue
            for _ in range(rng.choice((1, 1, 2))):
                shop = rng.choice(local if local and rng.random() < 0.75 else city.shops)
                amount = rng.choice((300, 550, 800, 1_200, 2_000, 3_500))
                purchases.append((person, shop, amount))
        await pay_all(city, purchases)
    async with city.clock(at(day, 17)):
        by_sector: dict[str, list[Merchant]] = {}
        for shop in city.shops:
            by_sector.setdefault(shop.profile.jsic_major, []).append(shop)
        orders = []
        for shop in city.shops:
            if rng.random() >= p.b2b_chance:
                continue
            # Its usual supplier's sector, or any other shop where the city has none.
            suppliers = by_sector.get(SUPPLIERS[shop.profile.jsic_major]) or [
                other for other in city.shops if other.id != shop.id
            ]
            if suppliers:
                orders.append(partial(_pay_supplier, shop=shop, supplier=rng.choice(suppliers)))
        city.report.b2b += sum(paid is not None for paid in await city.steps(orders))


async def _refill(session: AsyncSession, city: City, people: Sequence[Person]) -> None:
    """People whose points run low bring cash to city hall's counter again (most of them)."""
    balances = await wallets.wallet_balances(session, [person.wallet for person in people])
    low = [
        (person.wallet.id, city.random.choice(TOP_UPS))
        for person in people
        if balances[person.wallet.id].available < LOW and city.random.random() < city.p.refill_share
    ]
    counter = await city_hall.get_counter(session, COUNTER)
    for done in await wallets.top_ups_at_counter(session, counter=counter, top_ups=low):
        if isinstance(done, DomainError):
            city.report.refusals[done.code] += 1
        else:
            city.report.refills += 1


async def _bank_pays_the_batches_of(city: City, day: date) -> None:
    """The bank's result for the payouts transferring today: every one paid."""

    async def paid(session: AsyncSession) -> int:
        count = 0
        for batch in await settlement.batches_until(session, REGION, day):
            if batch.transfer_date != day:
                continue
            run = await settlement.get_batch(session, batch.id)
            results = [
                settlement.BankResult(p.id, paid=True, result_code="0")
                for p in run.payouts
                if p.status == "pending"
            ]
            await settlement.import_results(session, run.batch.id, results)
            count += len(results)
        return count

    city.report.payouts += await city.step(paid) or 0


async def _pay_supplier(session: AsyncSession, shop: Merchant, supplier: Merchant) -> int:
    held = (await ledger.balance(session, shop.account_id)).available
    amount = held // 5
    if amount <= 0:
        raise MerchantError("nothing to pay with")
    await merchants.pay_merchant(
        session,
        await merchants.get_merchant(session, shop.id),
        await merchants.get_merchant(session, supplier.id),
        amount,
        idempotency=IdempotencyKey(f"sim-b2b:{shop.id}", secrets.token_hex(8)),
        description="supplies",
    )
    return amount


async def _fees_at_city_hall(city: City) -> None:
    """A shift at city hall's counter: certificates paid from the app."""
    await city.step(lambda s: city_hall.open_shift(s, COUNTER, cashier="sim-cashier"))
    certificates = [
        partial(_certificate, city=city, person=person)
        for person in city.people
        if person.resident and person.key is not None and city.random.random() < city.p.fee_share
    ]
    city.report.fees += sum(paid is not None for paid in await city.steps(certificates))
    await city.step(lambda s: city_hall.close_shift(s, COUNTER))


async def _certificate(session: AsyncSession, city: City, person: Person) -> object:
    """The cashier shows the invoice's code; the resident's phone pays it."""
    shown = await invoices.show_invoice(
        session, COUNTER, [("residence-cert", 1)], city.platform_key
    )
    intent, signature = _signed(person, f"counter:{COUNTER}", shown.invoice.total)
    return await invoices.pay_invoice(
        session,
        actor=person.actor,
        qr_payload=shown.qr_payload,
        intent=intent,
        signature=signature,
        platform_keys=city.platform_keys,
    )


def _signed(person: Person, payee: str, amount: int) -> tuple[PaymentIntent, str]:
    """What the person's phone makes: an intent and its signature, base64url."""
    assert person.key is not None
    assert person.device_id is not None
    intent = PaymentIntent(
        wallet_id=person.wallet.id,
        device_id=person.device_id,
        payee=payee,
        amount=amount,
        nonce=secrets.token_hex(12),
        issued_at=utc_now().isoformat().replace("+00:00", "Z"),
    )
    signature = person.key.sign(intent.signed_bytes()).signature
    return intent, base64.urlsafe_b64encode(signature).decode().rstrip("=")


async def simulate(
    database_url: URL,
    parameters: Parameters,
    *,
    platform_key: SigningKey,
    export_dir: Path | None,
    k_threshold: int,
) -> Report:
    """Play the city's days, the last being yesterday, each followed by its night. The
    database must hold no entries yet: the days played are in the past."""
    # One connection, used in turn: the database clock's shift is a setting of the connection.
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    sessions = session_factory(engine)
    try:
        async with sessions() as session:
            used = await session.execute(text("SELECT count(*) FROM journal_entries"))
            if used.scalar_one():
                raise SimulationRefused("simulate into a database without entries")
        city = City(sessions, parameters, platform_key, export_dir, k_threshold)
        yesterday = business_date(datetime.now(UTC)) - timedelta(days=1)
        days = [yesterday - timedelta(days=n) for n in reversed(range(parameters.days))]
        started = timer.monotonic()
        async with city.clock(at(days[0], 7)):
            await set_up(city, days[0])
        await campaigns_of_the_city(city, days[0])
        city.report.seconds["set up"] = timer.monotonic() - started
        for day in days:
            started = timer.monotonic()
            await a_day(city, day)
            city.report.seconds[f"{day}, day"] = timer.monotonic() - started
            started = timer.monotonic()
            async with city.clock(at(day + timedelta(days=1), 1, 30)):
                night = Night(day, utc_now(), platform_key, k_threshold, export_dir)
                stopped = left_incomplete(await run_night(sessions, night, STEPS))
                if stopped is not None:  # a reporting step failed: say so, not succeed
                    raise incomplete([stopped])
            city.report.seconds[f"{day}, night"] = timer.monotonic() - started
            city.report.days.append(day)

        async def batched(session: AsyncSession) -> int:
            batches = await settlement.batches_until(session, REGION, date.max)
            return sum(batch.payout_count for batch in batches)

        city.report.payouts_batched = await city.step(batched) or 0
        return city.report
    finally:
        await engine.dispose()


class SimulationRefused(DomainError):
    code = "simulation_refused"
