"""Every id a counter may have fits every format it ends up in: the code of any invoice of any
counter encodes, reads back and verifies (a long id once overflowed the EMV template)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl.signing import SigningKey
from sqlalchemy.ext.asyncio import AsyncSession

from city_hall.domain import COUNTER_ID, Counter, Invoice
from merchant import emv
from wallet_api.errors import InvalidInput
from wallet_api.payments.invoices import invoice_code, show_invoice

KEY = SigningKey.generate()


# Ids of every length the pattern lets through, up to its longest, which generating from the
# pattern alone seldom reaches.
ANY_LENGTH = st.integers(2, 64).map(lambda n: "x" * n).filter(lambda i: COUNTER_ID.fullmatch(i))


@given(
    counter_id=st.from_regex(COUNTER_ID, fullmatch=True) | ANY_LENGTH,
    region=st.from_regex(r"[a-z][a-z0-9-]{1,39}", fullmatch=True),
    total=st.integers(1, 10**12),
)
def test_the_code_of_any_counters_invoice_reads_back(
    counter_id: str, region: str, total: int
) -> None:
    counter = Counter(counter_id, region, "AIZU", "Counter", 1)
    invoice = Invoice(
        id="i-0123456789abcdef",
        shift_id="s-0123456789ab",
        counter_id=counter_id,
        total=total,
        status="open",
        expires_at=datetime(2026, 12, 1, 10, 15, tzinfo=UTC),
        created_at=datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
        paid_at=None,
        entry_id=None,
        lines=(),
    )
    code = invoice_code(counter, invoice)
    assert emv.verify(emv.decode(emv.encode(code, KEY)), KEY.verify_key) == code


async def test_a_counter_opened_with_a_longer_id_is_refused_plainly(session: AsyncSession) -> None:
    """Opened before ids were held to 25 characters: its invoices are refused with a reason
    (their codes cannot be written), not a server error."""
    with pytest.raises(InvalidInput, match="25 characters"):
        await show_invoice(session, "x" * 30, [("residence-cert", 1)], KEY)
