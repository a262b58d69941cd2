"""A region's bank statements against what the ledger expects: each transfer in matched to the
pending bank top-up whose reference and amount it carries (and credited, or refused and sent
back), each transfer out to the payout batch of its date and total; what matches nothing, on
either side, is reported."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ledger.domain import BUSINESS_TIMEZONE
from ledger.errors import DomainError
from merchant.settlement import repository as settlement
from merchant.settlement.repository import PayoutBatch
from reconciliation import bank
from reconciliation.bank import OpenLine, StatementLine
from wallet_api.errors import DailyTopupLimitExceeded
from wallet_api.wallets import repository as wallet_repository
from wallet_api.wallets import service as wallets
from wallet_api.wallets.domain import Topup, TopupChannel, TopupStatus


@dataclass(frozen=True, slots=True)
class Match:
    line: StatementLine
    topup_id: int | None
    batch_id: str | None
    note: str


@dataclass(frozen=True, slots=True)
class Report:
    """What does not match, on either side."""

    unmatched_lines: list[OpenLine]
    topups_not_seen: list[Topup]  # requested by the last statement's date, no transfer yet
    batches_not_seen: list[PayoutBatch]  # transferred by then, not on a statement


@dataclass(frozen=True, slots=True)
class Import:
    statement_id: str
    lines: int
    matched: list[Match] = field(default_factory=list)
    report: Report | None = None


async def _match_transfer_in(session: AsyncSession, region: str, line: StatementLine) -> Match:
    for reference in line.topup_references:
        topup = await wallet_repository.get_topup_by_reference(session, reference, lock=True)
        if topup is None or topup.channel is not TopupChannel.BANK_TRANSFER:
            continue
        wallet = await wallets.get_wallet(session, topup.wallet_id)
        if wallet.region != region:
            continue
        if topup.status is not TopupStatus.PENDING:
            return Match(line, None, None, f"top-up {reference} is {topup.status} already")
        if topup.amount != line.amount:
            note = f"top-up {reference} is for {topup.amount} yen, the transfer {line.amount}"
            return Match(line, None, None, note)
        try:
            await wallets.confirm_bank_topup(session, reference)
        except DailyTopupLimitExceeded as later:
            # Not refused: the nightly chain tries the line again on another day.
            return Match(line, None, None, f"top-up {reference} waits: {later.detail}")
        except DomainError as refused:
            # The yen cannot become points (the wallet is full or closed): they go back.
            await wallets.refuse_bank_topup(session, reference, refused.detail)
            return Match(line, topup.id, None, f"refused, to be sent back: {refused.detail}")
        return Match(line, topup.id, None, f"credited top-up {reference}")
    return Match(line, None, None, "no pending top-up of this region carries its reference")


async def _match_transfer_out(
    session: AsyncSession, region: str, line: StatementLine, taken: set[str]
) -> Match:
    candidates = [
        b
        for b in await settlement.batches_until(session, region, line.value_date)
        if b.transfer_date == line.value_date and b.total == -line.amount and b.id not in taken
    ]
    if not candidates:
        note = f"no payout batch of {-line.amount} yen transferring on {line.value_date}"
        return Match(line, None, None, note)
    named = [b for b in candidates if b.id in line.reference]
    batch = (named or candidates)[0]
    return Match(line, None, batch.id, f"payout batch {batch.id}")


async def match_open_lines(
    session: AsyncSession, region: str, lines: list[StatementLine]
) -> list[Match]:
    """Match each open line (locked by the caller) and record the outcome."""
    taken = await bank.matched_batches(session, region)
    matches = []
    for line in lines:
        if line.amount > 0:
            match = await _match_transfer_in(session, region, line)
        else:
            match = await _match_transfer_out(session, region, line, taken)
        if match.batch_id is not None:
            taken.add(match.batch_id)
        await bank.settle_line(
            session, region, line, topup_id=match.topup_id, batch_id=match.batch_id, note=match.note
        )
        matches.append(match)
    return matches


async def report(session: AsyncSession, region: str) -> Report:
    last = await bank.last_statement_date(session, region)
    if last is None:
        return Report(await bank.unmatched(session, region), [], [])
    end_of_last = datetime.combine(last + timedelta(days=1), time(), tzinfo=BUSINESS_TIMEZONE)
    seen = await bank.matched_batches(session, region)
    return Report(
        await bank.unmatched(session, region),
        await wallet_repository.pending_bank_topups(session, region, requested_before=end_of_last),
        [b for b in await settlement.batches_until(session, region, last) if b.id not in seen],
    )


async def import_statement(session: AsyncSession, region: str, data: bytes) -> Import:
    """Keep the statement and match its open lines; importing it again changes nothing."""
    await wallets.get_policy(session, region)  # an unknown region is refused here
    lines = bank.parse_statement(data)
    await bank.lock_region(session, region)
    statement_id, still_open = await bank.record_statement(session, region, data, lines)
    matched = await match_open_lines(session, region, still_open)
    return Import(statement_id, len(lines), matched, await report(session, region))


async def rematch(session: AsyncSession, region: str) -> tuple[int, Report]:
    """Try every open line of the region again: the nightly chain's `match` step."""
    await bank.lock_region(session, region)
    matches = await match_open_lines(session, region, await bank.open_lines(session, region))
    return sum(m.topup_id is not None or m.batch_id is not None for m in matches), await report(
        session, region
    )
