"""The nightly chain's steps, in order. They live here, where every package meets: the chain
itself (`reconciliation.nightly`) runs them without knowing campaigns or shops."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from nacl.signing import VerifyKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.service import expire_lots
from city_hall import checks as invoice_checks
from ledger import service as ledger
from ledger.checks import (
    CheckReport,
    Violation,
    Window,
    export_snapshot,
    run_checks,
    share_snapshot,
)
from ledger.domain import business_date
from merchant import service as merchants
from merchant.errors import NothingToPay
from merchant.settlement import service as settlement
from reconciliation.errors import InvariantViolation
from reconciliation.feed import write_exports
from reconciliation.nightly import Night, Step, last_done
from reconciliation.seals import (
    SEAL_CHECKS,
    check_published,
    check_seals,
    day_bounds,
    get_seal,
    publish_seal,
    seal_day,
    was_published,
)
from reconciliation.statistics import Shop, compute, store
from wallet_api.audit import service as audit
from wallet_api.bank_topups import service as bank
from wallet_api.consent import service as consent
from wallet_api.payments import checks as payment_checks
from wallet_api.wallets import checks as topup_checks

# The records beside the books, each cross-checked against the entries it names.
RECORD_CHECKS = (*payment_checks.CHECKS, *topup_checks.CHECKS, *invoice_checks.CHECKS)

# How far ahead of a payout day its batch is made. The night of day D runs early on D+1, and
# the bank takes a transfer file (総合振込) by the day before the transfer: so for D+2.
SETTLEMENT_LEAD = timedelta(days=2)


async def _currencies_of(session: AsyncSession, night: Night) -> list[str]:
    """The currencies that existed by the end of the night's business date (Asia/Tokyo)."""
    _, end = day_bounds(night.business_date)
    return await ledger.currencies(session, created_before=end)


async def expire(session: AsyncSession, night: Night) -> str:
    """Campaign lots that expired by the end of the day give what is left to breakage."""
    _, end = day_bounds(night.business_date)
    expired = await expire_lots(session, end)
    return f"{len(expired)} lot(s) expired, {sum(e.points for e in expired)} point(s) to breakage"


async def seal(session: AsyncSession, night: Night) -> str:
    """Seal the day of every currency; a day whose published seal (in the feed's folder) says
    otherwise is not sealed anew."""
    sealed = [
        await seal_day(
            session, currency, night.business_date, key=night.platform_key, now=night.now
        )
        for currency in await _currencies_of(session, night)
    ]
    if night.export_dir is not None:
        for each in sealed:
            was_published(each, night.export_dir)
    summary = "; ".join(f"{s.currency}: {s.entry_count} entries, root {s.root}" for s in sealed)
    return summary or "no currency to seal"


async def seal_audit(session: AsyncSession, night: Night) -> str:
    """Seal the day's privileged actions (the audit log), chained to the day before's."""
    sealed = await audit.seal_day(
        session, night.business_date, key=night.platform_key, now=night.now
    )
    return f"{sealed.event_count} action(s), root {sealed.root}"


async def check(session: AsyncSession, night: Night) -> str:
    """Every ledger invariant over what changed since the last night's check: the entries
    recorded since, the accounts as they stand, and the seals made since, each against its
    entries and linked to the one before. The night's work follows the days it covers, not
    the age of the books; `reverify`, weekly, goes over everything."""
    checked = await last_done(session, "check", before=night.business_date)
    first = night.business_date if checked is None else checked + timedelta(days=1)
    # The first night checks everything.
    window = (
        None
        if checked is None
        else Window(day_bounds(first)[0], day_bounds(night.business_date)[1])
    )
    report = await run_checks(session, also=RECORD_CHECKS, window=window)
    since = None if window is None else first
    violations = (
        report.violations
        + await check_seals(session, night.platform_key.verify_key, since=since)
        + await audit.check_audit_seals(session, night.platform_key.verify_key, since=since)
    )
    if night.export_dir is not None:
        violations += await check_published(session, night.export_dir)
    _raise_on(violations)
    span = "every day" if window is None else f"{first} to {night.business_date}"
    return f"{len(report.results)} checks of the books, their records and the seals hold: {span}"


# The connections `reverify` holds at once.
REVERIFY_CONNECTIONS = 3
# The checks of the violations `reverify` gives second: the books' seals and the audit log's.
REVERIFY_SEAL_CHECKS = (*SEAL_CHECKS, *audit.AUDIT_CHECKS)


async def reverify(
    sessions: async_sessionmaker[AsyncSession],
    verify_key: VerifyKey | None,
    export_dir: Path | None,
) -> tuple[CheckReport, list[Violation]]:
    """Every ledger invariant over the whole database, and every seal re-computed from the
    entries as stored now (and against the seals published outside it): `aizu ledger check`,
    run weekly by beat. Violations of the seals come second. The checks and the seals run side
    by side on three connections (the checks on one; the seals' days read on two, one read
    while the other's is hashed here), all reading one snapshot, exported by the first."""
    async with sessions() as checking, sessions() as sealing_session, sessions() as helper:
        snapshot = await export_snapshot(checking)
        await share_snapshot(sealing_session, snapshot)
        await share_snapshot(helper, snapshot)
        report, sealing = await asyncio.gather(
            run_checks(checking, also=RECORD_CHECKS),
            check_seals(sealing_session, verify_key, helpers=[helper]),
        )
        sealing += await audit.check_audit_seals(sealing_session, verify_key)
        if export_dir is not None:
            sealing += await check_published(sealing_session, export_dir)
    return report, sealing


def _raise_on(violations: list[Violation]) -> None:
    if violations:
        shown = "; ".join(f"{v.check}: {v.detail}" for v in violations[:5])
        raise InvariantViolation(f"{len(violations)} violation(s): {shown}")


async def settle(session: AsyncSession, night: Night) -> str:
    """The payout batch of each region whose payout day is the one after tomorrow's."""
    transfer_date = night.business_date + SETTLEMENT_LEAD
    regions = await settlement.due_on(session, transfer_date)
    if regions and transfer_date <= business_date(night.now):
        # A night caught up late: the file could no longer reach the bank in time. The shops
        # lose nothing: the next batch pays out every available balance.
        return f"payout day {transfer_date} has passed: the next batch pays it"
    made = []
    for region in regions:
        try:
            run = await settlement.run_batch(session, region, transfer_date)
        except NothingToPay:
            made.append(f"{region}: nothing to pay")
            continue
        made.append(f"{region}: {run.batch.id}, {run.batch.payout_count} payout(s)")
    return "; ".join(made) or f"no payout day on {transfer_date}"


async def match(session: AsyncSession, night: Night) -> str:
    """Every region's statement lines still open, tried again; what matches nothing, counted."""
    found = []
    for region in await ledger.regions(session):
        matched, report = await bank.rematch(session, region)
        open_items = (
            len(report.unmatched_lines) + len(report.topups_not_seen) + len(report.batches_not_seen)
        )
        if matched or open_items:
            found.append(
                f"{region}: {matched} matched now; {len(report.unmatched_lines)} line(s), "
                f"{len(report.topups_not_seen)} top-up(s), {len(report.batches_not_seen)} "
                "batch(es) unmatched"
            )
    return "; ".join(found) or "nothing to match"


async def statistics(session: AsyncSession, night: Night) -> str:
    """Each currency's circulation statistics of the day, from consenting residents only."""
    done = []
    for currency in await _currencies_of(session, night):
        shops = {
            m.id: Shop(m.profile.district, m.profile.jsic_major)
            for m in await merchants.merchants_of(session, currency)
        }
        stats = await compute(
            session,
            currency,
            night.business_date,
            residents=await consent.statistics_residents(session, currency),
            shops=shops,
            k_threshold=night.k_threshold,
        )
        await store(session, stats)
        done.append(f"{currency}: {len(stats.figures)} figures, {len(stats.cells)} cells")
    return "; ".join(done) or "no currency"


async def exports(session: AsyncSession, night: Night) -> str:
    """The economists' feed: each currency's files of the day, and the day's seals."""
    if night.export_dir is None:
        return "no export directory"
    currencies = await _currencies_of(session, night)
    for currency in currencies:
        await write_exports(session, currency, night.business_date, night.export_dir)
        sealed = await get_seal(session, currency, night.business_date)
        if sealed is not None:
            # Outside the database, where a root once published stays.
            publish_seal(sealed, night.export_dir)
    return f"{len(currencies)} currenc(ies) to {night.export_dir}"


STEPS = (
    Step("expire", expire),
    Step("seal", seal),
    Step("seal_audit", seal_audit),
    Step("check", check),
    Step("settle", settle),
    # Reporting: a failure leaves its night incomplete without holding back the next nights.
    Step("match", match, blocking=False),
    Step("statistics", statistics, blocking=False),
    Step("exports", exports, blocking=False),
)
