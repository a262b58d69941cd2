"""Top-ups cross-checked against their entries: a credited top-up's entry credits the wallet's
purchased points by exactly its amount."""

from __future__ import annotations

from ledger.checks import sql_check

topups_match_entries = sql_check(
    "topups_match_entries",
    """
    SELECT t.id, t.amount, credited.total
      FROM topups t
      JOIN wallets w ON w.id = t.wallet_id
      LEFT JOIN LATERAL (
          SELECT sum(amount) AS total FROM postings
           WHERE entry_id = t.entry_id AND account_id = w.purchased_lot_id
      ) credited ON true
     WHERE t.status = 'credited' AND credited.total IS DISTINCT FROM t.amount
       AND (t.entry_id IS NULL OR t.entry_id IN (SELECT id FROM {entries} AS checked))
     ORDER BY t.id LIMIT 100
    """,
    lambda topup, amount, credited: (
        f"top-up {topup} says {amount}, its entry credits the wallet {credited}"
    ),
)

CHECKS = (topups_match_entries,)
