"""The campaigns package's refusals, each with a stable code and HTTP status."""

from __future__ import annotations

from typing import ClassVar


class CampaignError(Exception):
    code: ClassVar[str] = "campaign_error"
    http_status: ClassVar[int] = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidCampaign(CampaignError):
    code = "invalid_request"
    http_status = 422


class UnknownCampaign(CampaignError):
    code = "unknown_campaign"
    http_status = 404


class CampaignExists(CampaignError):
    code = "already_exists"
    http_status = 409


class NotEligible(CampaignError):
    code = "not_eligible"
    http_status = 403


class OutsideSaleWindow(CampaignError):
    code = "outside_sale_window"
    http_status = 409


class PersonalCapReached(CampaignError):
    code = "personal_cap_reached"
    http_status = 409


class SoldOut(CampaignError):
    code = "sold_out"
    http_status = 409


class HouseholdCapReached(CampaignError):
    code = "household_cap_reached"
    http_status = 409


class OutsideApplicationWindow(CampaignError):
    code = "outside_application_window"
    http_status = 409


class AlreadyApplied(CampaignError):
    code = "already_applied"
    http_status = 409


class NotDrawn(CampaignError):
    """The campaign's sets go by lottery: a purchase needs a winning application."""

    code = "not_a_winner"
    http_status = 409


class LotteryState(CampaignError):
    """The lottery is not at the step asked for (not a lottery, drawn already, too early)."""

    code = "lottery_state"
    http_status = 409


class WrongKind(CampaignError):
    code = "wrong_campaign_kind"
    http_status = 409


class CampaignNotOver(CampaignError):
    code = "campaign_not_over"
    http_status = 409


class OutsidePayoutWindow(CampaignError):
    code = "outside_payout_window"
    http_status = 409
