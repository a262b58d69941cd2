"""Paid invoices cross-checked against their entries: the entry takes the invoice's total from
the wallet and books it to the departments."""

from __future__ import annotations

from ledger.checks import sql_check

invoices_match_entries = sql_check(
    "invoices_match_entries",
    """
    SELECT i.id, i.total, booked.total
      FROM invoices i
      LEFT JOIN LATERAL (
          SELECT sum(amount) AS total FROM postings
           WHERE entry_id = i.entry_id AND amount > 0
      ) booked ON true
     WHERE i.status = 'paid' AND booked.total IS DISTINCT FROM i.total
       AND (i.entry_id IS NULL OR i.entry_id IN (SELECT id FROM {entries} AS checked))
     ORDER BY i.id LIMIT 100
    """,
    lambda invoice, total, booked: f"invoice {invoice} totals {total}, its entry books {booked}",
)

CHECKS = (invoices_match_entries,)
