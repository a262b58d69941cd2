"""Request and response bodies of the campaign endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AliasPath,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    model_validator,
)

from campaigns.domain import (
    Application,
    Benefit,
    Campaign,
    Eligibility,
    LotteryOutcome,
    Phase,
    PremiumSets,
    ResidentRecord,
    SpendBack,
    WalletCampaign,
    sets_within_budget,
)
from campaigns.service import Lottery
from ledger.domain import Page
from wallet_api.http.schemas.record import RecordOut
from wallet_api.wallets.campaigns import BenefitPayout

Points = Annotated[StrictInt, Field(gt=0, le=10**12)]
District = Annotated[str, Field(min_length=1, max_length=100)]


class EligibilityIn(BaseModel):
    """Who may take part. Ages and districts are read from the resident register; the
    merchant filters say which shops earn spend-back. An empty list means any."""

    model_config = ConfigDict(extra="forbid")

    residents_only: StrictBool = True
    min_age: StrictInt | None = Field(default=None, ge=0, le=130)
    max_age: StrictInt | None = Field(default=None, ge=0, le=130)
    districts: list[District] = Field(default_factory=list, max_length=200)
    merchant_size_classes: list[Literal["local", "large_chain"]] = Field(default_factory=list)
    merchant_categories: list[Annotated[str, Field(pattern=r"^[A-T]$")]] = Field(
        default_factory=list, description="JSIC major groups."
    )
    merchant_districts: list[District] = Field(default_factory=list, max_length=200)

    def rules(self) -> Eligibility:
        return Eligibility(
            residents_only=self.residents_only,
            min_age=self.min_age,
            max_age=self.max_age,
            districts=tuple(self.districts),
            merchant_size_classes=tuple(self.merchant_size_classes),
            merchant_categories=tuple(self.merchant_categories),
            merchant_districts=tuple(self.merchant_districts),
        )


class _CampaignCreate(BaseModel):
    id: str = Field(pattern=r"^cp-[a-z0-9-]{2,37}$")
    region: str = Field(pattern=r"^[a-z][a-z0-9-]{1,39}$")
    name: str = Field(min_length=1, max_length=200)
    eligibility: EligibilityIn = Field(default_factory=EligibilityIn)


class PremiumSetsCreate(_CampaignCreate):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "premium_sets",
                    "id": "cp-premium-2026",
                    "region": "aizuwakamatsu",
                    "name": "あいづ プレミアム付ポイント 2026",
                    "price": 10000,
                    "points_per_set": 12500,
                    "restricted_points_per_set": 6250,
                    "sets_per_person": 2,
                    "total_sets": 20000,
                    "applications_from": "2026-11-01T00:00:00+09:00",
                    "applications_until": "2026-11-16T00:00:00+09:00",
                    "sale_from": "2026-11-20T00:00:00+09:00",
                    "sale_until": "2026-12-01T00:00:00+09:00",
                    "valid_until": "2027-03-01T00:00:00+09:00",
                    "eligibility": {"residents_only": True},
                }
            ]
        },
    )

    kind: Literal["premium_sets"]
    price: Points = Field(description="Yen a set costs.")
    points_per_set: Points
    restricted_points_per_set: StrictInt = Field(ge=0, description="Of those, local shops only.")
    sets_per_person: StrictInt = Field(gt=0, le=1000)
    sets_per_household: StrictInt | None = Field(default=None, gt=0, le=1000)
    total_sets: StrictInt | None = Field(default=None, gt=0, le=10**8)
    total_budget: Points | None = Field(
        default=None,
        description="Instead of total_sets: the sets on sale are as many as its premium pays for.",
    )
    applications_from: AwareDatetime | None = Field(
        default=None, description="With an application window, a lottery decides who buys."
    )
    applications_until: AwareDatetime | None = None
    sale_from: AwareDatetime = Field(description="In a lottery, the winners' purchase window.")
    sale_until: AwareDatetime
    valid_until: AwareDatetime = Field(description="The points expire then.")

    @model_validator(mode="after")
    def _sets_or_budget(self) -> PremiumSetsCreate:
        if (self.total_sets is None) == (self.total_budget is None):
            raise ValueError("give either total_sets or total_budget")
        return self

    def terms(self) -> PremiumSets:
        total_sets = self.total_sets
        if total_sets is None:
            assert self.total_budget is not None
            total_sets = sets_within_budget(
                self.total_budget, price=self.price, points_per_set=self.points_per_set
            )
        return PremiumSets(
            price=self.price,
            points_per_set=self.points_per_set,
            restricted_points_per_set=self.restricted_points_per_set,
            sets_per_person=self.sets_per_person,
            sets_per_household=self.sets_per_household,
            total_sets=total_sets,
            applications_from=self.applications_from,
            applications_until=self.applications_until,
            sale_from=self.sale_from,
            sale_until=self.sale_until,
            valid_until=self.valid_until,
        )


class SpendBackCreate(_CampaignCreate):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "spend_back",
                    "id": "cp-winter-spend-back",
                    "region": "aizuwakamatsu",
                    "name": "冬の地元応援 20% 還元",
                    "rate_basis_points": 2000,
                    "per_payment_cap": 1000,
                    "per_person_cap": 5000,
                    "budget": 10000000,
                    "earn_from": "2027-01-10T00:00:00+09:00",
                    "earn_until": "2027-02-01T00:00:00+09:00",
                    "valid_until": "2027-03-01T00:00:00+09:00",
                    "local_shops_only": True,
                    "eligibility": {"merchant_size_classes": ["local"]},
                }
            ]
        },
    )

    kind: Literal["spend_back"]
    rate_basis_points: StrictInt = Field(gt=0, le=10_000, description="2000 gives 20% back.")
    per_payment_cap: Points
    per_person_cap: Points
    budget: Points
    earn_from: AwareDatetime
    earn_until: AwareDatetime
    valid_until: AwareDatetime = Field(description="The points earned expire then.")
    local_shops_only: StrictBool = False

    def terms(self) -> SpendBack:
        return SpendBack(
            rate_basis_points=self.rate_basis_points,
            per_payment_cap=self.per_payment_cap,
            per_person_cap=self.per_person_cap,
            budget=self.budget,
            earn_from=self.earn_from,
            earn_until=self.earn_until,
            valid_until=self.valid_until,
            local_shops_only=self.local_shops_only,
        )


class BenefitCreate(_CampaignCreate):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "benefit",
                    "id": "cp-child-rearing-2026",
                    "region": "aizuwakamatsu",
                    "name": "子育て応援ポイント",
                    "points_per_person": 10000,
                    "budget": 50000000,
                    "payout_from": "2026-12-01T00:00:00+09:00",
                    "payout_until": "2027-01-01T00:00:00+09:00",
                    "valid_until": "2027-06-01T00:00:00+09:00",
                    "local_shops_only": True,
                    "eligibility": {"max_age": 18},
                }
            ]
        },
    )

    kind: Literal["benefit"]
    points_per_person: Points
    budget: Points
    payout_from: AwareDatetime
    payout_until: AwareDatetime
    valid_until: AwareDatetime = Field(description="The points paid out expire then.")
    local_shops_only: StrictBool = False

    def terms(self) -> Benefit:
        return Benefit(
            points_per_person=self.points_per_person,
            budget=self.budget,
            payout_from=self.payout_from,
            payout_until=self.payout_until,
            valid_until=self.valid_until,
            local_shops_only=self.local_shops_only,
        )


CampaignCreate = Annotated[
    PremiumSetsCreate | SpendBackCreate | BenefitCreate, Field(discriminator="kind")
]


class CampaignOut(BaseModel):
    id: str
    region: str
    currency: str
    kind: str
    name: str
    terms: dict[str, Any] = Field(description="The kind's settings, as created.")
    eligibility: dict[str, Any]
    budget_account_id: int
    lottery_seed_sha256: str | None = Field(
        description="A lottery's commitment: the SHA-256 of the seed revealed at the draw."
    )

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignOut:
        return cls(
            id=campaign.id,
            region=campaign.region,
            currency=campaign.currency,
            kind=campaign.kind.value,
            name=campaign.name,
            terms=campaign.terms.as_json(),
            eligibility=campaign.eligibility.as_json(),
            budget_account_id=campaign.budget_account_id,
            lottery_seed_sha256=campaign.seed_sha256,
        )


class CampaignList(BaseModel):
    campaigns: list[CampaignOut]
    next_after: str | None = Field(
        description="Pass as `after` for the next page (which may be empty); null: no more."
    )

    @classmethod
    def of(cls, page: Page[Campaign]) -> CampaignList:
        return cls(campaigns=[CampaignOut.of(c) for c in page.items], next_after=page.next_after)


class PurchaseCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"wallet_id": "w-3f9a1c0d5e7b2a64", "sets": 2}]},
    )

    wallet_id: str = Field(min_length=1, max_length=64)
    sets: StrictInt = Field(ge=1, le=100)


class PurchaseOut(RecordOut):
    id: str
    campaign_id: str
    wallet_id: str
    sets: int
    price: int
    points: int
    entry_id: int


class ApplicationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"wallet_id": "w-3f9a1c0d5e7b2a64", "sets": 2}]},
    )

    wallet_id: str = Field(min_length=1, max_length=64)
    sets: StrictInt = Field(ge=1, le=100)


class ApplicationOut(BaseModel):
    id: str = Field(description="Published with the draw; keep it to find yourself there.")
    campaign_id: str
    wallet_id: str
    sets: int

    @classmethod
    def of(cls, campaign_id: str, application: Application) -> ApplicationOut:
        return cls(
            id=application.id,
            campaign_id=campaign_id,
            wallet_id=application.wallet_id,
            sets=application.sets,
        )


class AppliedFor(BaseModel):
    id: str
    sets: int


class RoundOut(BaseModel):
    round: int
    sets: int = Field(description="Sets this round gave out: all of them, then those unbought.")
    purchase_from: datetime
    purchase_until: datetime
    next_position: int = Field(description="Where the next round continues in the ranking.")
    winners: list[AppliedFor]


class LotteryOut(BaseModel):
    """Everything needed to re-run the draw: see the README's "Checking a lottery"."""

    campaign_id: str
    seed_sha256: str
    seed: str | None = Field(description="Revealed at the draw.")
    applications: list[AppliedFor] = Field(description="Published at the draw.")
    rounds: list[RoundOut]

    @classmethod
    def of(cls, lottery: Lottery) -> LotteryOut:
        return cls(
            campaign_id=lottery.campaign_id,
            seed_sha256=lottery.seed_sha256,
            seed=lottery.seed,
            applications=[AppliedFor(id=a.id, sets=a.sets) for a in lottery.applications],
            rounds=[
                RoundOut(
                    round=r.number,
                    sets=r.sets,
                    purchase_from=r.purchase_from,
                    purchase_until=r.purchase_until,
                    next_position=r.next_position,
                    winners=[AppliedFor(id=g.application_id, sets=g.sets) for g in r.grants],
                )
                for r in lottery.rounds
            ],
        )


class RoundCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"purchase_until": "2026-12-15T00:00:00+09:00"}]},
    )

    purchase_until: AwareDatetime = Field(description="The new winners buy from now until then.")


class BenefitPayoutCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"subjects": ["s-7d1e0a", "s-93bc42"]}]},
    )

    subjects: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=10_000, description="Residents, by identity subject."
    )


class Refused(BaseModel):
    subject: str
    code: str = Field(
        description="Which rule: residents_only, no_register_record, under_min_age, "
        "over_max_age, other_district, no_wallet, wallet_closed."
    )
    reason: str = Field(description="The same in words.")


class BenefitPayoutOut(BaseModel):
    paid: list[str] = Field(description="Subjects credited now.")
    paid_before: list[str] = Field(description="Subjects an earlier payout credited.")
    refused: list[Refused] = Field(description="Not eligible, or without a wallet here.")
    points: int

    @classmethod
    def of(cls, payout: BenefitPayout) -> BenefitPayoutOut:
        return cls(
            paid=payout.paid,
            paid_before=payout.paid_before,
            refused=[
                Refused(subject=s, code=why.reason, reason=why.detail)
                for s, why in payout.refused.items()
            ],
            points=payout.points,
        )


class BudgetReturnOut(BaseModel):
    campaign_id: str
    returned: int = Field(description="Points moved back to the city's funds now.")


class ReportOut(RecordOut):
    campaign_id: str = Field(validation_alias=AliasPath("campaign", "id"))
    kind: str = Field(validation_alias=AliasPath("campaign", "kind"))
    applications: int
    sets_applied: int
    winners: int
    sets_granted: int
    purchases: int
    buyers: int
    sets_sold: int
    spend_back_rewards: int
    rewarded_people: int
    benefit_payouts: int
    issued_by_lot: dict[str, int] = Field(description="local, general, reward, benefit")
    spent_at_local_shops: int = Field(description="Net of refunds.")
    spent_at_all_shops: int = Field(description="Net of refunds, local shops included.")
    taken_back: int = Field(description="Spend-back of refunded payments.")
    breakage: int
    outstanding: int = Field(description="Still in the campaign's lots.")
    budget_funded: int
    budget_returned: int
    budget_left: int


class ResidentRecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=200)
    household: str = Field(min_length=1, max_length=100)
    district: District
    birth_date: date


class ResidentRecordsCreate(BaseModel):
    """Records of the city's resident register, used only to decide campaign eligibility."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "records": [
                        {
                            "subject": "s-7d1e0a",
                            "household": "h-0412",
                            "district": "Kitaaizu",
                            "birth_date": "1958-04-02",
                        }
                    ]
                }
            ]
        },
    )

    records: list[ResidentRecordIn] = Field(min_length=1, max_length=10_000)

    def records_of_register(self) -> list[ResidentRecord]:
        latest = {r.subject: r for r in self.records}  # a subject listed twice: the last wins
        return [
            ResidentRecord(r.subject, r.household, r.district, r.birth_date)
            for r in latest.values()
        ]


class ResidentRecordsOut(BaseModel):
    recorded: int


# --- a wallet's campaigns ------------------------------------------------------------------


class PremiumSetsTerms(BaseModel):
    price: int = Field(description="Yen a set costs, paid from the wallet's purchased points.")
    points_per_set: int
    restricted_points_per_set: int = Field(description="Of those, for local shops only.")
    sets_per_person: int
    sets_per_household: int | None
    total_sets: int
    applications_from: datetime | None = Field(description="Set only for a lottery.")
    applications_until: datetime | None
    sale_from: datetime = Field(description="In a lottery, the first round's purchase window.")
    sale_until: datetime
    valid_until: datetime = Field(description="The points expire then.")


class SpendBackTerms(BaseModel):
    rate_basis_points: int = Field(description="2000 gives 20% back.")
    per_payment_cap: int
    per_person_cap: int
    earn_from: datetime
    earn_until: datetime
    valid_until: datetime = Field(description="The points earned expire then.")
    local_shops_only: bool = Field(description="Whether the points earned are for local shops.")
    merchant_size_classes: list[str] = Field(description="Shops that earn it; empty: any.")
    merchant_categories: list[str] = Field(description="JSIC major groups; empty: any.")
    merchant_districts: list[str] = Field(description="Empty: any.")


class BenefitTerms(BaseModel):
    points_per_person: int
    payout_from: datetime
    payout_until: datetime
    valid_until: datetime = Field(description="The points paid out expire then.")
    local_shops_only: bool


def _terms_out(campaign: Campaign) -> PremiumSetsTerms | SpendBackTerms | BenefitTerms:
    terms = campaign.terms
    if isinstance(terms, PremiumSets):
        return PremiumSetsTerms.model_validate(terms.as_json())
    if isinstance(terms, SpendBack):
        # The shops that earn it are the eligibility's to say.
        return SpendBackTerms.model_validate({**campaign.eligibility.as_json(), **terms.as_json()})
    return BenefitTerms.model_validate(terms.as_json())


class LotteryStandingOut(BaseModel):
    state: LotteryOutcome = Field(
        description="`not_applied`, `not_drawn` (applied, the draw is to come), `won`, or "
        "`not_won` (so far: a further round may still reach the application)."
    )
    won_sets: int | None = Field(description="Sets the wallet may buy, once won.")
    purchase_from: datetime | None = Field(description="The winner's purchase window.")
    purchase_until: datetime | None


class StandingOut(BaseModel):
    """The wallet's part: each field is null for the kinds it does not apply to."""

    applied_sets: int | None = Field(description="A lottery's sets applied for; null: none.")
    application_id: str | None = Field(description="To find the wallet in the published draw.")
    lottery: LotteryStandingOut | None = Field(description="Null unless sold by lottery.")
    sets_bought: int | None = Field(description="Premium sets bought so far.")
    points_earned: int | None = Field(description="Spend-back earned, net of refunds.")
    points_received: int | None = Field(description="A benefit: the points paid to the wallet.")


class WalletCampaignOut(BaseModel):
    id: str
    kind: str
    name: str
    phase: Phase = Field(description="`upcoming`, `open` or `closed`.")
    eligible: bool
    not_eligible_reason: str | None = Field(description="Why the wallet may not take part.")
    terms: PremiumSetsTerms | SpendBackTerms | BenefitTerms = Field(
        description="What the resident needs to decide, by the campaign's `kind`."
    )
    sets_left: int | None = Field(description="Premium sets: the total less those sold.")
    mine: StandingOut

    @classmethod
    def of(cls, view: WalletCampaign) -> WalletCampaignOut:
        campaign, standing = view.campaign, view.standing
        outcome = view.lottery
        won = standing.won
        lottery = (
            None
            if outcome is None
            else LotteryStandingOut(
                state=outcome,
                won_sets=won.sets if won else None,
                purchase_from=won.purchase_from if won else None,
                purchase_until=won.purchase_until if won else None,
            )
        )
        premium = isinstance(campaign.terms, PremiumSets)
        return cls(
            id=campaign.id,
            kind=campaign.kind.value,
            name=campaign.name,
            phase=view.phase,
            eligible=view.not_eligible is None,
            not_eligible_reason=view.not_eligible,
            terms=_terms_out(campaign),
            sets_left=view.sets_left,
            mine=StandingOut(
                applied_sets=standing.application.sets if standing.application else None,
                application_id=standing.application.id if standing.application else None,
                lottery=lottery,
                sets_bought=standing.sets_bought if premium else None,
                points_earned=(
                    (standing.points_earned or 0) if isinstance(campaign.terms, SpendBack) else None
                ),
                points_received=(
                    (standing.points_received or 0) if isinstance(campaign.terms, Benefit) else None
                ),
            ),
        )


class WalletCampaignList(BaseModel):
    wallet_id: str
    campaigns: list[WalletCampaignOut] = Field(
        description="Those the wallet may still join and those it has a part in; soonest "
        "start first."
    )
