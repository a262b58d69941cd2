"""The pages' words: every message in both languages, and a plain-word message for every
refusal a resident or a shop can meet on them."""

from __future__ import annotations

import dataclasses
import re

from campaigns.domain import (
    SIZE_CLASSES,
    Benefit,
    CampaignKind,
    Eligibility,
    PremiumSets,
    SpendBack,
)
from campaigns.errors import NOT_ELIGIBLE_REASONS
from ledger import key_registry
from ledger.domain import LotKind, Restriction
from merchant.domain import DEPOSIT_TYPES
from reconciliation.dictionary import FIGURES
from tests.pages.test_economics import SERIES
from wallet_api.http.problems import STATUS_BY_CODE
from wallet_api.http.schemas.merchants import BankAccountIn, MerchantCreate
from wallet_api.http.schemas.settlement import SettlementProfileIn
from wallet_api.http.schemas.statistics import HeadlineOut
from wallet_api.http.schemas.wallets import PolicyLimits, RegionCreate
from wallet_api.http.web_packages import PAGES
from wallet_api.nightly import STEPS

# What the wallet and the till can be refused with (the payment, top-up, campaign, card and
# session endpoints they call); operators' and auditors' refusals are for pages of their own.
REFUSALS_ON_THESE_PAGES = {
    "insufficient_funds", "qr_expired", "qr_reused", "qr_bad_signature", "qr_bad_crc",
    "qr_malformed", "qr_not_ours", "qr_merchant_mismatch", "merchant_suspended",
    "unknown_merchant", "terminal_revoked", "device_revoked", "unknown_device", "bad_signature",
    "stale_intent", "replayed_intent", "wallet_closed", "rate_limited", "balance_cap_exceeded",
    "daily_topup_limit_exceeded", "intent_mismatch", "refund_exceeds_payment", "wrong_pin",
    "card_locked", "card_blocked", "unknown_card", "not_eligible", "sold_out",
    "personal_cap_reached", "household_cap_reached", "outside_sale_window",
    "outside_application_window", "already_applied", "not_a_winner", "invalid_amount",
    "validation_error", "forbidden", "unauthenticated", "cross_site_request",
    "service_unavailable", "ledger_busy", "idempotency_conflict", "local_sign_in_disabled",
    # City hall's counter, its supervisor and its fee catalogue.
    "shift_not_open", "shift_already_open", "invoice_not_payable", "unknown_invoice",
    "unknown_receipt", "unknown_procedure", "unknown_department", "unknown_counter",
    "invalid_request",
    # The campaign office.
    "campaign_fixed", "campaign_not_over", "lottery_state", "outside_payout_window",
    "unknown_campaign", "unknown_region", "already_exists",
    # The operators' console.
    "unknown_settlement", "nothing_to_pay", "result_conflict",
}  # fmt: skip


def messages() -> dict[str, set[str]]:
    """Every page's words: those all pages share and those a page adds (its messages.js)."""
    found: dict[str, set[str]] = {"ja": set(), "en": set()}
    key = re.compile(r'^\s+"([a-z0-9_.-]+)":', re.MULTILINE)
    for words in PAGES.glob("*/messages.js"):
        japanese, english = words.read_text().split("\n  en: {", 1)
        found["ja"] |= set(key.findall(japanese))
        found["en"] |= set(key.findall(english))
    return found


def test_every_message_is_in_both_languages() -> None:
    found = messages()
    assert len(found["ja"]) > 200
    assert found["ja"] - found["en"] == set()
    assert found["en"] - found["ja"] == set()


def test_every_refusal_the_pages_can_meet_is_said_in_plain_words() -> None:
    known = set(STATUS_BY_CODE) | {"validation_error"}
    assert known >= REFUSALS_ON_THESE_PAGES, REFUSALS_ON_THESE_PAGES - known
    said = {key.removeprefix("refusal.") for key in messages()["ja"] if key.startswith("refusal.")}
    assert REFUSALS_ON_THESE_PAGES - said == set()


def test_no_page_says_a_shared_message_differently() -> None:
    key = re.compile(r'^\s+"([a-z0-9_.-]+)":', re.MULTILINE)
    shared = set(key.findall((PAGES / "static" / "messages.js").read_text()))
    for words in PAGES.glob("*/messages.js"):
        if words.parent.name != "static":
            assert shared & set(key.findall(words.read_text())) == set(), words


def campaign_settings() -> list[str]:
    """The campaign form's fields: each kind's settings and the eligibility rules, the rate in
    percent instead of basis points; "residents only" has words of its own."""
    settings = {"id", "region", "name", "rate_percent"}
    for kind in (PremiumSets, SpendBack, Benefit, Eligibility):
        settings |= {field.name for field in dataclasses.fields(kind)}
    return sorted(settings - {"rate_basis_points", "residents_only"})


def console_fields() -> list[str]:
    """The console's forms: a region, a shop with its bank account, a region's payout
    account."""
    fields = set(MerchantCreate.model_fields) - {"currency", "bank"}
    fields |= set(RegionCreate.model_fields) - {"limits"}
    return sorted(fields | set(BankAccountIn.model_fields) | set(SettlementProfileIn.model_fields))


def test_every_key_a_page_asks_for_exists() -> None:
    asked: set[str] = set()
    for script in PAGES.glob("*/*.js"):
        asked |= set(re.findall(r'\bt\("([a-z0-9_.-]+)"', script.read_text()))
    for page in PAGES.glob("*/*.html"):
        asked |= set(
            re.findall(
                r'data-i18n(?:-label|-title|-placeholder)?="([a-z0-9_.-]+)"', page.read_text()
            )
        )
    # A key ending in "." is a prefix the page completes with a value from the API.
    prefixes = {key for key in asked if key.endswith(".")}
    assert asked - prefixes - messages()["ja"] == set()
    completed: dict[str, list[str]] = {
        "lot.": [kind.value for kind in LotKind],
        "lot.premium.": [restriction.value for restriction in Restriction],
        "campaign.kind.": [kind.value for kind in CampaignKind],
        "campaign.phase.": ["upcoming", "open", "closed"],
        "shop.method.": ["mpm_dynamic", "mpm_static", "cpm", "card"],
        "shop.money.status.": ["pending", "paid", "failed"],
        # A kind of entry without a word of its own is shown as "other".
        "entry.": ["payment", "refund", "topup", "premium_purchase", "benefit", "spend_back"],
        # The campaign office names every setting of every kind, and why a person is refused.
        "office.field.": campaign_settings(),
        "office.size.": list(SIZE_CLASSES),
        "office.refused.": list(NOT_ELIGIBLE_REASONS),
        # The operators' console: its forms' fields, and what the API says of things.
        "console.field.": console_fields(),
        "console.policy.": list(PolicyLimits.model_fields),
        "console.size.": list(SIZE_CLASSES),
        "console.status.": ["active", "suspended"],
        "console.account.": list(DEPOSIT_TYPES),
        "console.shop.terminal.": ["active", "revoked"],
        "console.payout.": ["pending", "paid", "failed"],
        "console.nightly.": ["step", "status", "detail", "attempts", "updated"],
        "console.step.": [step.name for step in STEPS],
        "console.step-status.": ["done", "failed", "violated"],
        # The economists' dashboard: every figure of the feed, each chart of them.
        "econ.figure.": list(FIGURES),
        "econ.chart.": list(SERIES),
        # The transparency page: its headline's totals, and each check of a receipt.
        "open.headline.": [
            name
            for name, field in HeadlineOut.model_fields.items()
            if field.annotation is int and name != "days"
        ],
        "open.check.": ["entry", "proof", "published", "signature"],
        "open.keys.status.": list(key_registry.STATUSES),
        "open.keys.signs.": list(key_registry.PURPOSES),
    }
    assert prefixes == set(completed)
    for prefix, values in completed.items():
        assert {prefix + value for value in values} - messages()["ja"] == set(), prefix
