"""Campaigns as plain records: every number of a campaign is a setting, none is code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from campaigns.errors import InvalidCampaign


@dataclass(frozen=True, slots=True)
class PremiumSets:
    """Premium sets: `price` yen buys `points_per_set` points, of which
    `restricted_points_per_set` are for local shops only and the rest for any shop; at most
    `sets_per_person` per resident and `total_sets` in all; sold in [sale_from, sale_until),
    valid until `valid_until` (then the points left are breakage)."""

    price: int
    points_per_set: int
    restricted_points_per_set: int
    sets_per_person: int
    total_sets: int
    sale_from: datetime
    sale_until: datetime
    valid_until: datetime
    residents_only: bool = True

    def __post_init__(self) -> None:
        numbers = (self.price, self.points_per_set, self.sets_per_person, self.total_sets)
        if any(isinstance(n, bool) or not isinstance(n, int) or n <= 0 for n in numbers):
            raise InvalidCampaign("price, points, sets per person and total sets are positive")
        if self.points_per_set <= self.price:
            raise InvalidCampaign("a premium set gives more points than its price")
        if not 0 <= self.restricted_points_per_set <= self.points_per_set:
            raise InvalidCampaign("restricted points are part of a set's points")
        if not self.sale_from < self.sale_until <= self.valid_until:
            raise InvalidCampaign("the sale window ends before the points expire")
        for moment in (self.sale_from, self.sale_until, self.valid_until):
            if moment.tzinfo is None:
                raise InvalidCampaign("campaign times carry a time zone")

    @property
    def premium_per_set(self) -> int:
        """What the campaign budget adds to each set."""
        return self.points_per_set - self.price

    @property
    def budget(self) -> int:
        return self.premium_per_set * self.total_sets

    def as_json(self) -> dict[str, Any]:
        return {
            "price": self.price,
            "points_per_set": self.points_per_set,
            "restricted_points_per_set": self.restricted_points_per_set,
            "sets_per_person": self.sets_per_person,
            "total_sets": self.total_sets,
            "sale_from": self.sale_from.isoformat(),
            "sale_until": self.sale_until.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "residents_only": self.residents_only,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PremiumSets:
        return cls(
            price=data["price"],
            points_per_set=data["points_per_set"],
            restricted_points_per_set=data["restricted_points_per_set"],
            sets_per_person=data["sets_per_person"],
            total_sets=data["total_sets"],
            sale_from=datetime.fromisoformat(data["sale_from"]),
            sale_until=datetime.fromisoformat(data["sale_until"]),
            valid_until=datetime.fromisoformat(data["valid_until"]),
            residents_only=data["residents_only"],
        )


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    region: str
    currency: str
    name: str
    settings: PremiumSets
    budget_account_id: int  # funded by the city; never below zero
    breakage_account_id: int  # the expired points of the campaign's lots


@dataclass(frozen=True, slots=True)
class Purchase:
    id: str
    campaign_id: str
    wallet_id: str
    sets: int
    price: int
    points: int
    entry_id: int
