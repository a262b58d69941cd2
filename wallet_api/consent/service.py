"""Consent and demographics: a resident grants or revokes each purpose under the text shown, and
gives (or withdraws) age band and district. Each operation takes the caller's session and never
commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from ledger.domain import answered
from ledger.errors import DomainError, accepted
from reconciliation.statistics import Resident
from wallet_api.consent import repository
from wallet_api.consent.domain import (
    AGE_BANDS,
    TERMS,
    ConsentRecord,
    Demographics,
    Purpose,
    PurposeTerms,
)
from wallet_api.errors import InvalidInput, OutdatedConsentText
from wallet_api.wallets.domain import Wallet


async def decide(
    session: AsyncSession, wallet: Wallet, purpose: Purpose, *, granted: bool, text_version: str
) -> ConsentRecord:
    """Record a grant or a revocation, stating what was agreed to. A grant must be of the text
    in force; a revocation always goes through."""
    (record,) = await decide_for(
        session, [wallet], purpose, granted=granted, text_version=text_version
    )
    return record


async def decide_for(
    session: AsyncSession,
    wallets: Sequence[Wallet],
    purpose: Purpose,
    *,
    granted: bool,
    text_version: str,
) -> list[ConsentRecord]:
    """`decide` of the same decision by many wallets, in one statement."""
    terms = TERMS[purpose]
    if granted and text_version != terms.text_version:
        raise OutdatedConsentText(
            f"the {purpose.value} text is at version {terms.text_version}, not {text_version}"
        )
    return await repository.record_consents(
        session, [wallet.id for wallet in wallets], terms, granted=granted
    )


@dataclass(frozen=True, slots=True)
class ConsentState:
    terms: PurposeTerms
    latest: ConsentRecord | None

    @property
    def granted(self) -> bool:
        """In force: the latest decision is a grant, of the text version in force."""
        return (
            self.latest is not None
            and self.latest.granted
            and self.latest.text_version == self.terms.text_version
        )


async def consent_state(
    session: AsyncSession, wallet: Wallet
) -> tuple[list[ConsentState], list[ConsentRecord]]:
    """The current state per purpose, and the whole history, oldest first."""
    history = await repository.consent_history(session, wallet.id)
    latest = {record.purpose: record for record in history}
    return [ConsentState(terms, latest.get(purpose)) for purpose, terms in TERMS.items()], history


async def set_demographics(
    session: AsyncSession, wallet: Wallet, *, age_band: str | None, district: str | None
) -> Demographics:
    (done,) = accepted(await describe_wallets(session, [(wallet, age_band, district)]))
    return done


async def describe_wallets(
    session: AsyncSession, described: Sequence[tuple[Wallet, str | None, str | None]]
) -> list[Demographics | DomainError]:
    """`set_demographics` of many (wallet, age band, district) in one statement, each set or
    refused on its own; a wallet given twice keeps the last."""
    results: list[Demographics | DomainError | None] = [None] * len(described)
    valid: dict[str, tuple[str | None, str | None]] = {}
    for index, (wallet, age_band, district) in enumerate(described):
        try:
            if age_band is not None and age_band not in AGE_BANDS:
                raise InvalidInput(f"age_band must be one of {', '.join(AGE_BANDS)}")
            if district is not None and not 1 <= len(district) <= 100:
                raise InvalidInput("district must be 1 to 100 characters")
            if age_band is None and district is None:
                raise InvalidInput("give an age band, a district or both (or delete them)")
        except DomainError as refusal:
            results[index] = refusal
            continue
        valid[wallet.id] = (age_band, district)
    stored = await repository.set_demographics(
        session, [(wallet_id, age, place) for wallet_id, (age, place) in valid.items()]
    )
    for index, (wallet, _, _) in enumerate(described):
        if results[index] is None:
            results[index] = stored[wallet.id]
    return answered(results)


async def get_demographics(session: AsyncSession, wallet: Wallet) -> Demographics | None:
    return await repository.get_demographics(session, wallet.id)


async def withdraw_demographics(session: AsyncSession, wallet: Wallet) -> None:
    await repository.delete_demographics(session, wallet.id)


async def statistics_residents(session: AsyncSession, currency: str) -> dict[str, Resident]:
    """The residents whose consent to statistics is in force, as statistics may describe them."""
    terms = TERMS[Purpose.STATISTICS]
    rows = await repository.consenting_demographics(
        session, currency, Purpose.STATISTICS, terms.text_version
    )
    return {row.wallet_id: Resident(row.age_band, row.district) for row in rows}
