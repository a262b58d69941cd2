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
