"""Request and response bodies of the campaign endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt

from campaigns.domain import Campaign, PremiumSets, Purchase


class PremiumCampaignCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "cp-premium-2026",
                    "region": "aizuwakamatsu",
                    "name": "あいづ プレミアム付ポイント 2026",
                    "price": 10000,
                    "points_per_set": 12500,
                    "restricted_points_per_set": 6250,
                    "sets_per_person": 2,
                    "total_sets": 20000,
                    "sale_from": "2026-11-01T00:00:00+09:00",
                    "sale_until": "2026-12-01T00:00:00+09:00",
                    "valid_until": "2027-03-01T00:00:00+09:00",
                    "residents_only": True,
                }
            ]
        },
    )

    id: str = Field(pattern=r"^cp-[a-z0-9-]{2,37}$")
    region: str = Field(pattern=r"^[a-z][a-z0-9-]{1,39}$")
    name: str = Field(min_length=1, max_length=200)
    price: StrictInt = Field(gt=0, description="Yen a set costs.")
    points_per_set: StrictInt = Field(gt=0)
    restricted_points_per_set: StrictInt = Field(ge=0, description="Of those, local shops only.")
    sets_per_person: StrictInt = Field(gt=0)
    total_sets: StrictInt = Field(gt=0)
    sale_from: AwareDatetime
    sale_until: AwareDatetime
    valid_until: AwareDatetime = Field(description="The points expire then.")
    residents_only: StrictBool = True

    def settings(self) -> PremiumSets:
        return PremiumSets(
            price=self.price,
            points_per_set=self.points_per_set,
            restricted_points_per_set=self.restricted_points_per_set,
            sets_per_person=self.sets_per_person,
            total_sets=self.total_sets,
            sale_from=self.sale_from,
            sale_until=self.sale_until,
            valid_until=self.valid_until,
            residents_only=self.residents_only,
        )


class CampaignOut(BaseModel):
    id: str
    region: str
    currency: str
    name: str
    price: int
    points_per_set: int
    restricted_points_per_set: int
    sets_per_person: int
    total_sets: int
    sale_from: datetime
    sale_until: datetime
    valid_until: datetime
    residents_only: bool
    budget_account_id: int

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignOut:
        terms = campaign.settings
        return cls(
            id=campaign.id,
            region=campaign.region,
            currency=campaign.currency,
            name=campaign.name,
            price=terms.price,
            points_per_set=terms.points_per_set,
            restricted_points_per_set=terms.restricted_points_per_set,
            sets_per_person=terms.sets_per_person,
            total_sets=terms.total_sets,
            sale_from=terms.sale_from,
            sale_until=terms.sale_until,
            valid_until=terms.valid_until,
            residents_only=terms.residents_only,
            budget_account_id=campaign.budget_account_id,
        )


class PurchaseCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"wallet_id": "w-3f9a1c0d5e7b2a64", "sets": 2}]},
    )

    wallet_id: str = Field(min_length=1, max_length=64)
    sets: StrictInt = Field(ge=1, le=100)


class PurchaseOut(BaseModel):
    id: str
    campaign_id: str
    wallet_id: str
    sets: int
    price: int
    points: int
    entry_id: int

    @classmethod
    def of(cls, purchase: Purchase) -> PurchaseOut:
        return cls(
            id=purchase.id,
            campaign_id=purchase.campaign_id,
            wallet_id=purchase.wallet_id,
            sets=purchase.sets,
            price=purchase.price,
            points=purchase.points,
            entry_id=purchase.entry_id,
        )
