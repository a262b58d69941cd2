"""Campaigns as plain records: every number of a campaign is a setting, none is code. And the
rules that need no database: who is eligible, the lottery's draw, a spend-back reward."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from campaigns.errors import InvalidCampaign, NotEligible

JST = ZoneInfo("Asia/Tokyo")
SIZE_CLASSES = ("local", "large_chain")


class CampaignKind(StrEnum):
    PREMIUM_SETS = "premium_sets"
    SPEND_BACK = "spend_back"
    BENEFIT = "benefit"


def _positive(*numbers: object) -> bool:
    return all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in numbers)


def _aware(*moments: datetime) -> None:
    if any(moment.tzinfo is None for moment in moments):
        raise InvalidCampaign("campaign times carry a time zone")


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


@dataclass(frozen=True, slots=True)
class ResidentRecord:
    """What the city's resident register says of a wallet's owner (by the identity subject):
    kept apart from the ledger and from the statistics, used only to decide eligibility."""

    subject: str
    household: str
    district: str
    birth_date: date

    def age_on(self, day: date) -> int:
        had_birthday = (day.month, day.day) >= (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - (0 if had_birthday else 1)


@dataclass(frozen=True, slots=True)
class Person:
    """Who asks for a campaign's points: the wallet, whether it is a resident's, and the
    register's record of its owner if there is one."""

    wallet_id: str
    resident: bool
    record: ResidentRecord | None


@dataclass(frozen=True, slots=True)
class Shop:
    """What spend-back eligibility knows of the shop paid."""

    merchant_id: str
    size_class: str
    category: str  # JSIC major group
    district: str


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Who may take part: residents only unless `residents_only` is off; an age range (age on
    the campaign's first day, Asia/Tokyo) and districts read from the resident register; and,
    for spend-back, the shops that earn it by size class, category (JSIC major) and district.
    An empty tuple means no restriction."""

    residents_only: bool = True
    min_age: int | None = None
    max_age: int | None = None
    districts: tuple[str, ...] = ()
    merchant_size_classes: tuple[str, ...] = ()
    merchant_categories: tuple[str, ...] = ()
    merchant_districts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for age in (self.min_age, self.max_age):
            if age is not None and not (isinstance(age, int) and 0 <= age <= 130):
                raise InvalidCampaign("ages are whole years from 0 to 130")
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            raise InvalidCampaign("min_age is at most max_age")
        if not set(self.merchant_size_classes) <= set(SIZE_CLASSES):
            raise InvalidCampaign(f"merchant size classes are among {', '.join(SIZE_CLASSES)}")

    @property
    def needs_register(self) -> bool:
        return self.min_age is not None or self.max_age is not None or bool(self.districts)

    def check_person(self, person: Person, first_day: date) -> None:
        """Refuse a person the campaign is not for, saying why."""
        if self.residents_only and not person.resident:
            raise NotEligible("this campaign is for residents", "residents_only")
        if not self.needs_register:
            return
        record = person.record
        if record is None:
            raise NotEligible(
                "this campaign needs the resident register's record of you", "no_register_record"
            )
        age = record.age_on(first_day)
        if self.min_age is not None and age < self.min_age:
            raise NotEligible(f"this campaign is for ages {self.min_age} and over", "under_min_age")
        if self.max_age is not None and age > self.max_age:
            raise NotEligible(f"this campaign is for ages up to {self.max_age}", "over_max_age")
        if self.districts and record.district not in self.districts:
            raise NotEligible("this campaign is for other districts", "other_district")

    def shop_earns(self, shop: Shop) -> bool:
        return (
            (not self.merchant_size_classes or shop.size_class in self.merchant_size_classes)
            and (not self.merchant_categories or shop.category in self.merchant_categories)
            and (not self.merchant_districts or shop.district in self.merchant_districts)
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "residents_only": self.residents_only,
            "min_age": self.min_age,
            "max_age": self.max_age,
            "districts": list(self.districts),
            "merchant_size_classes": list(self.merchant_size_classes),
            "merchant_categories": list(self.merchant_categories),
            "merchant_districts": list(self.merchant_districts),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Eligibility:
        return cls(
            residents_only=data["residents_only"],
            min_age=data["min_age"],
            max_age=data["max_age"],
            districts=tuple(data["districts"]),
            merchant_size_classes=tuple(data["merchant_size_classes"]),
            merchant_categories=tuple(data["merchant_categories"]),
            merchant_districts=tuple(data["merchant_districts"]),
        )


MAX_SETS = 100_000_000  # what a campaign's set counts are stored in


@dataclass(frozen=True, slots=True)
class PremiumSets:
    """Premium sets: `price` yen buys `points_per_set` points, of which
    `restricted_points_per_set` are for local shops only and the rest for any shop; at most
    `sets_per_person` per resident (and `sets_per_household` per household, if set) and
    `total_sets` in all; sold in [sale_from, sale_until), valid until `valid_until` (then the
    points left are breakage). With an application window, residents apply first and a lottery
    decides who may buy."""

    price: int
    points_per_set: int
    restricted_points_per_set: int
    sets_per_person: int
    total_sets: int
    sale_from: datetime
    sale_until: datetime
    valid_until: datetime
    sets_per_household: int | None = None
    applications_from: datetime | None = None
    applications_until: datetime | None = None

    def __post_init__(self) -> None:
        if not _positive(self.price, self.points_per_set, self.sets_per_person, self.total_sets):
            raise InvalidCampaign("price, points, sets per person and total sets are positive")
        if self.total_sets > MAX_SETS:
            raise InvalidCampaign(f"at most {MAX_SETS:,} sets")
        if self.sets_per_household is not None and not _positive(self.sets_per_household):
            raise InvalidCampaign("sets per household is positive")
        if self.points_per_set <= self.price:
            raise InvalidCampaign("a premium set gives more points than its price")
        if not 0 <= self.restricted_points_per_set <= self.points_per_set:
            raise InvalidCampaign("restricted points are part of a set's points")
        _aware(self.sale_from, self.sale_until, self.valid_until)
        if not self.sale_from < self.sale_until <= self.valid_until:
            raise InvalidCampaign("the sale window ends before the points expire")
        if (self.applications_from is None) != (self.applications_until is None):
            raise InvalidCampaign("an application window has a start and an end")
        if self.applications_from is not None and self.applications_until is not None:
            _aware(self.applications_from, self.applications_until)
            if not self.applications_from < self.applications_until <= self.sale_from:
                raise InvalidCampaign("applications close before the sale opens")

    @property
    def lottery(self) -> bool:
        return self.applications_from is not None

    @property
    def premium_per_set(self) -> int:
        """What the campaign budget adds to each set."""
        return self.points_per_set - self.price

    @property
    def budget(self) -> int:
        return self.premium_per_set * self.total_sets

    @property
    def starts(self) -> datetime:
        return self.applications_from or self.sale_from

    @property
    def ends(self) -> datetime:
        return self.sale_until

    def as_json(self) -> dict[str, Any]:
        return {
            "price": self.price,
            "points_per_set": self.points_per_set,
            "restricted_points_per_set": self.restricted_points_per_set,
            "sets_per_person": self.sets_per_person,
            "sets_per_household": self.sets_per_household,
            "total_sets": self.total_sets,
            "applications_from": _iso(self.applications_from),
            "applications_until": _iso(self.applications_until),
            "sale_from": self.sale_from.isoformat(),
            "sale_until": self.sale_until.isoformat(),
            "valid_until": self.valid_until.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PremiumSets:
        return cls(
            price=data["price"],
            points_per_set=data["points_per_set"],
            restricted_points_per_set=data["restricted_points_per_set"],
            sets_per_person=data["sets_per_person"],
            sets_per_household=data["sets_per_household"],
            total_sets=data["total_sets"],
            applications_from=_moment(data["applications_from"]),
            applications_until=_moment(data["applications_until"]),
            sale_from=datetime.fromisoformat(data["sale_from"]),
            sale_until=datetime.fromisoformat(data["sale_until"]),
            valid_until=datetime.fromisoformat(data["valid_until"]),
        )


def sets_within_budget(budget: int, *, price: int, points_per_set: int) -> int:
    """The sets a premium budget pays for: whole sets only, so none is sold half-funded."""
    premium = points_per_set - price
    if premium <= 0:
        raise InvalidCampaign("a premium set gives more points than its price")
    if budget < premium:
        raise InvalidCampaign(f"a budget of {budget} does not pay the premium of one set")
    return budget // premium


@dataclass(frozen=True, slots=True)
class SpendBack:
    """Of each payment at an eligible shop in [earn_from, earn_until), `rate_basis_points`
    (1/100 of a percent: 2000 is 20%) comes back as premium points, rounded down, at most
    `per_payment_cap` per payment, `per_person_cap` per person and `budget` in all; the points
    are for local shops only if `local_shops_only`, and expire at `valid_until`."""

    rate_basis_points: int
    per_payment_cap: int
    per_person_cap: int
    budget: int
    earn_from: datetime
    earn_until: datetime
    valid_until: datetime
    local_shops_only: bool = False

    def __post_init__(self) -> None:
        numbers = (self.rate_basis_points, self.per_payment_cap, self.per_person_cap, self.budget)
        if not _positive(*numbers):
            raise InvalidCampaign("the rate, the caps and the budget are positive")
        if self.rate_basis_points > 10_000:
            raise InvalidCampaign("spend-back gives at most 100% back")
        _aware(self.earn_from, self.earn_until, self.valid_until)
        if not self.earn_from < self.earn_until <= self.valid_until:
            raise InvalidCampaign("points are earned before they expire")

    @property
    def starts(self) -> datetime:
        return self.earn_from

    @property
    def ends(self) -> datetime:
        return self.earn_until

    def reward(self, amount: int, earned_by_person: int, budget_left: int) -> int:
        """The points a payment of `amount` earns: the rate of it, rounded down, within every
        cap."""
        return max(
            0,
            min(
                amount * self.rate_basis_points // 10_000,
                self.per_payment_cap,
                self.per_person_cap - earned_by_person,
                budget_left,
            ),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "rate_basis_points": self.rate_basis_points,
            "per_payment_cap": self.per_payment_cap,
            "per_person_cap": self.per_person_cap,
            "budget": self.budget,
            "earn_from": self.earn_from.isoformat(),
            "earn_until": self.earn_until.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "local_shops_only": self.local_shops_only,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SpendBack:
        return cls(
            rate_basis_points=data["rate_basis_points"],
            per_payment_cap=data["per_payment_cap"],
            per_person_cap=data["per_person_cap"],
            budget=data["budget"],
            earn_from=datetime.fromisoformat(data["earn_from"]),
            earn_until=datetime.fromisoformat(data["earn_until"]),
            valid_until=datetime.fromisoformat(data["valid_until"]),
            local_shops_only=data["local_shops_only"],
        )


@dataclass(frozen=True, slots=True)
class Benefit:
    """The city credits `points_per_person` to each eligible resident it lists, in
    [payout_from, payout_until), up to `budget` in all; the points are for local shops only if
    `local_shops_only`, and expire at `valid_until`."""

    points_per_person: int
    budget: int
    payout_from: datetime
    payout_until: datetime
    valid_until: datetime
    local_shops_only: bool = False

    def __post_init__(self) -> None:
        if not _positive(self.points_per_person, self.budget):
            raise InvalidCampaign("the points and the budget are positive")
        _aware(self.payout_from, self.payout_until, self.valid_until)
        if not self.payout_from < self.payout_until <= self.valid_until:
            raise InvalidCampaign("points are paid out before they expire")

    @property
    def starts(self) -> datetime:
        return self.payout_from

    @property
    def ends(self) -> datetime:
        return self.payout_until

    def as_json(self) -> dict[str, Any]:
        return {
            "points_per_person": self.points_per_person,
            "budget": self.budget,
            "payout_from": self.payout_from.isoformat(),
            "payout_until": self.payout_until.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "local_shops_only": self.local_shops_only,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Benefit:
        return cls(
            points_per_person=data["points_per_person"],
            budget=data["budget"],
            payout_from=datetime.fromisoformat(data["payout_from"]),
            payout_until=datetime.fromisoformat(data["payout_until"]),
            valid_until=datetime.fromisoformat(data["valid_until"]),
            local_shops_only=data["local_shops_only"],
        )


Terms = PremiumSets | SpendBack | Benefit
TERMS: dict[CampaignKind, type[PremiumSets] | type[SpendBack] | type[Benefit]] = {
    CampaignKind.PREMIUM_SETS: PremiumSets,
    CampaignKind.SPEND_BACK: SpendBack,
    CampaignKind.BENEFIT: Benefit,
}


def kind_of(terms: Terms) -> CampaignKind:
    return next(kind for kind, cls in TERMS.items() if isinstance(terms, cls))


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    region: str
    currency: str
    name: str
    terms: Terms
    eligibility: Eligibility
    budget_account_id: int  # funded by the city; never below zero
    breakage_account_id: int  # the expired points of the campaign's lots
    seed_sha256: str | None = None  # a lottery's commitment, published from the start
    budget_returned_entry_id: int | None = None

    @property
    def kind(self) -> CampaignKind:
        return kind_of(self.terms)

    @property
    def first_day(self) -> date:
        """The day ages are counted on."""
        return self.terms.starts.astimezone(JST).date()


@dataclass(frozen=True, slots=True)
class Purchase:
    id: str
    campaign_id: str
    wallet_id: str
    sets: int
    price: int
    points: int
    entry_id: int


# The lottery. Anyone can re-run it from the revealed seed and the published applications:
#   1. check that sha256(seed) is the commitment published when applications opened;
#   2. rank the applications by sha256(f"{seed}:{application_id}") as hex, then by id;
#   3. walk the ranking granting each application its sets while sets are left (the last one
#      granted may get fewer than it asked); a second round continues down the same ranking
#      from the first application not yet granted, with the sets the first round left unbought.


def commitment(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def ranking(seed: str, application_ids: Iterable[str]) -> list[str]:
    return sorted(
        application_ids,
        key=lambda app_id: (hashlib.sha256(f"{seed}:{app_id}".encode()).hexdigest(), app_id),
    )


@dataclass(frozen=True, slots=True)
class Application:
    id: str
    wallet_id: str
    sets: int


@dataclass(frozen=True, slots=True)
class Grant:
    application_id: str
    sets: int


@dataclass(frozen=True, slots=True)
class Draw:
    grants: list[Grant]
    next_position: int  # where a further round continues in the ranking


def draw(seed: str, applications: Sequence[Application], sets: int, start: int = 0) -> Draw:
    """Grant up to `sets` sets down the ranking, from position `start`."""
    asked = {application.id: application.sets for application in applications}
    ranked = ranking(seed, asked)
    grants: list[Grant] = []
    position = start
    while sets > 0 and position < len(ranked):
        granted = min(asked[ranked[position]], sets)
        grants.append(Grant(ranked[position], granted))
        sets -= granted
        position += 1
    return Draw(grants, position)


@dataclass(frozen=True, slots=True)
class Round:
    number: int
    sets: int
    purchase_from: datetime
    purchase_until: datetime
    next_position: int
    grants: list[Grant] = field(default_factory=list)


# A wallet's part in the campaigns of its region.


class Phase(StrEnum):
    UPCOMING = "upcoming"
    OPEN = "open"
    CLOSED = "closed"


class LotteryOutcome(StrEnum):
    NOT_APPLIED = "not_applied"
    NOT_DRAWN = "not_drawn"
    WON = "won"
    NOT_WON = "not_won"  # so far: a further round may still reach the application


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a campaign stands, whoever asks."""

    sets_sold: int
    drawn: bool  # a lottery's first round
    last_round_until: datetime | None  # the end of a lottery's last purchase window


@dataclass(frozen=True, slots=True)
class WonSets:
    sets: int
    purchase_from: datetime
    purchase_until: datetime


@dataclass(frozen=True, slots=True)
class Standing:
    """One wallet's part in one campaign, as the campaign's records hold it."""

    application: Application | None
    won: WonSets | None
    sets_bought: int
    points_earned: int | None  # spend-back net of what refunds took back; None: never paid
    points_received: int | None  # a benefit paid out to it


def closes_at(campaign: Campaign, last_round_until: datetime | None) -> datetime:
    """When a campaign is over: its sale, earning or payout window ends, or a lottery's last
    purchase window if a further round pushed it later."""
    return max(campaign.terms.ends, last_round_until or campaign.terms.ends)


@dataclass(frozen=True, slots=True)
class WalletCampaign:
    """A campaign as one wallet sees it: its terms, where it stands and the wallet's part."""

    campaign: Campaign
    progress: Progress
    standing: Standing
    now: datetime
    not_eligible: str | None  # why the wallet may not take part, if it may not

    @property
    def phase(self) -> Phase:
        if self.campaign.budget_returned_entry_id is not None:
            return Phase.CLOSED
        if self.now < self.campaign.terms.starts:
            return Phase.UPCOMING
        if self.now < closes_at(self.campaign, self.progress.last_round_until):
            return Phase.OPEN
        return Phase.CLOSED

    @property
    def sets_left(self) -> int | None:
        terms = self.campaign.terms
        if not isinstance(terms, PremiumSets):
            return None
        return max(terms.total_sets - self.progress.sets_sold, 0)

    @property
    def lottery(self) -> LotteryOutcome | None:
        terms = self.campaign.terms
        if not isinstance(terms, PremiumSets) or not terms.lottery:
            return None
        if self.standing.application is None:
            return LotteryOutcome.NOT_APPLIED
        if self.standing.won is not None:
            return LotteryOutcome.WON
        return LotteryOutcome.NOT_WON if self.progress.drawn else LotteryOutcome.NOT_DRAWN

    @property
    def took_part(self) -> bool:
        standing = self.standing
        return (
            standing.application is not None
            or standing.sets_bought > 0
            or standing.points_earned is not None
            or standing.points_received is not None
        )

    @property
    def open_to_join(self) -> bool:
        """Whether the wallet could still join: the campaign is not over, and a lottery's
        applications are still to close."""
        if self.phase is Phase.CLOSED:
            return False
        terms = self.campaign.terms
        if isinstance(terms, PremiumSets) and terms.applications_until is not None:
            return self.now < terms.applications_until and not self.progress.drawn
        return True

    @property
    def shown(self) -> bool:
        """Shown to the wallet: what it may still join, and what it has a part in."""
        return self.took_part or self.open_to_join
