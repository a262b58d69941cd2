"""The campaigns package's refusals, each with a stable code."""

from __future__ import annotations

from typing import Any

from ledger.errors import DomainError


class CampaignError(DomainError):
    code = "campaign_error"


class InvalidCampaign(CampaignError):
    code = "invalid_request"


class UnknownCampaign(CampaignError):
    code = "unknown_campaign"


class CampaignExists(CampaignError):
    code = "already_exists"


# Why a person is not paid or may not take part: which rule, as a stable code.
NOT_ELIGIBLE_REASONS = (
    "residents_only",
    "no_register_record",
    "under_min_age",
    "over_max_age",
    "other_district",
    "other_region",
    "no_wallet",
    "wallet_closed",
)


class NotEligible(CampaignError):
    """Refused a person the campaign is not for; `reason` is one of NOT_ELIGIBLE_REASONS."""

    code = "not_eligible"

    def __init__(self, detail: str, reason: str) -> None:
        super().__init__(detail)
        self.reason = reason

    def extra(self) -> dict[str, Any]:
        return {"reason": self.reason}


class OutsideSaleWindow(CampaignError):
    code = "outside_sale_window"


class PersonalCapReached(CampaignError):
    code = "personal_cap_reached"


class SoldOut(CampaignError):
    code = "sold_out"


class HouseholdCapReached(CampaignError):
    code = "household_cap_reached"


class OutsideApplicationWindow(CampaignError):
    code = "outside_application_window"


class AlreadyApplied(CampaignError):
    code = "already_applied"


class NotDrawn(CampaignError):
    """The campaign's sets go by lottery: a purchase needs a winning application."""

    code = "not_a_winner"


class LotteryState(CampaignError):
    """The lottery is not at the step asked for (not a lottery, drawn already, too early)."""

    code = "lottery_state"


class WrongKind(CampaignError):
    code = "wrong_campaign_kind"


class CampaignNotOver(CampaignError):
    code = "campaign_not_over"


class OutsidePayoutWindow(CampaignError):
    code = "outside_payout_window"


class CampaignFixed(CampaignError):
    """The campaign opens too soon (or has opened) for its terms to change."""

    code = "campaign_fixed"
