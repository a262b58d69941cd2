"""HTTP endpoints of consent and demographics."""

from __future__ import annotations

from fastapi import APIRouter

from wallet_api.consent import service
from wallet_api.consent.domain import TERMS
from wallet_api.http.deps import SessionDep
from wallet_api.http.idempotency import commits, idempotent
from wallet_api.http.roles import AnyRole, Holder, HolderOrOperator
from wallet_api.http.schemas.consent import (
    ConsentDecision,
    ConsentOverview,
    ConsentRecordOut,
    ConsentStateOut,
    DemographicsIn,
    DemographicsOut,
    TermsList,
    TermsOut,
)
from wallet_api.wallets.service import own_wallet, wallet_for

router = APIRouter(prefix="/v1", tags=["consent"])


@router.get("/consent-purposes")
async def consent_purposes(actor: AnyRole) -> TermsList:
    """What each purpose uses, for whom, and the text (with its version) a resident agrees to."""
    return TermsList(purposes=[TermsOut.of(terms) for terms in TERMS.values()])


@router.get("/wallets/{wallet_id}/consents")
async def read_consents(
    wallet_id: str, session: SessionDep, actor: HolderOrOperator
) -> ConsentOverview:
    """The consent in force per purpose, and every grant and revocation, oldest first."""
    wallet = await wallet_for(session, actor, wallet_id)
    current, history = await service.consent_state(session, wallet)
    return ConsentOverview(
        current=[ConsentStateOut.of(state) for state in current],
        history=[ConsentRecordOut.of(record) for record in history],
    )


@router.post("/wallets/{wallet_id}/consents", status_code=201)
@idempotent(for_everyone=True)
async def decide_consent(
    wallet_id: str,
    body: ConsentDecision,
    session: SessionDep,
    actor: Holder,
) -> ConsentRecordOut:
    """Grant (under the text version shown) or revoke a purpose; both are kept as history."""
    wallet = await own_wallet(session, actor, wallet_id)
    record = await service.decide(
        session, wallet, body.purpose, granted=body.granted, text_version=body.text_version
    )
    return ConsentRecordOut.of(record)


@router.get("/wallets/{wallet_id}/demographics")
async def read_demographics(wallet_id: str, session: SessionDep, actor: Holder) -> DemographicsOut:
    """What the resident has given (`given` false and nothing else when they gave nothing or
    withdrew it)."""
    wallet = await own_wallet(session, actor, wallet_id)
    demographics = await service.get_demographics(session, wallet)
    if demographics is None:
        return DemographicsOut(given=False, age_band=None, district=None, updated_at=None)
    return DemographicsOut.of(demographics)


@router.put("/wallets/{wallet_id}/demographics")
@commits(for_everyone=True)
async def give_demographics(
    wallet_id: str, body: DemographicsIn, session: SessionDep, actor: Holder
) -> DemographicsOut:
    """Give age band and district; they are kept apart from the ledger and used only for the
    purposes consented to."""
    wallet = await own_wallet(session, actor, wallet_id)
    demographics = await service.set_demographics(
        session, wallet, age_band=body.age_band, district=body.district
    )
    return DemographicsOut.of(demographics)


@router.delete("/wallets/{wallet_id}/demographics", status_code=204)
@commits(for_everyone=True)
async def withdraw_demographics(wallet_id: str, session: SessionDep, actor: Holder) -> None:
    """Delete the demographics given."""
    wallet = await own_wallet(session, actor, wallet_id)
    await service.withdraw_demographics(session, wallet)
