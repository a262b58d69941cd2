"""Payments and refunds cross-checked against the entries they name: a record beside the
books that says another amount than its entry is found by the invariant checks."""

from __future__ import annotations

from ledger.checks import sql_check

payments_match_entries = sql_check(
    "payments_match_entries",
    """
    SELECT p.id, p.amount, credited.total
      FROM payments p
      JOIN {entries} e ON e.id = p.entry_id
      JOIN merchants m ON m.id = p.merchant_id
      LEFT JOIN LATERAL (
          SELECT sum(amount) AS total FROM postings
           WHERE entry_id = p.entry_id AND account_id = m.account_id
      ) credited ON true
     WHERE credited.total IS DISTINCT FROM p.amount
     ORDER BY p.id LIMIT 100
    """,
    lambda payment, amount, credited: (
        f"payment {payment} says {amount}, its entry credits the shop {credited}"
    ),
)

refunds_match_payments = sql_check(
    "refunds_match_payments",
    """
    SELECT p.id, p.refunded, coalesce(sum(r.amount), 0)
      FROM payments p LEFT JOIN refunds r ON r.payment_id = p.id
     GROUP BY p.id, p.refunded
    HAVING p.refunded <> coalesce(sum(r.amount), 0) OR p.refunded > p.amount
     ORDER BY p.id LIMIT 100
    """,
    lambda payment, refunded, total: (
        f"payment {payment} counts {refunded} refunded, its refunds add up to {total}"
    ),
    # The payments made, or refunded, in the window.
    in_window="""
    SELECT p.id, p.refunded, coalesce(sum(r.amount), 0)
      FROM payments p LEFT JOIN refunds r ON r.payment_id = p.id
     WHERE p.entry_id IN (SELECT id FROM {entries} AS checked)
        OR p.id IN (SELECT payment_id FROM refunds
                     WHERE entry_id IN (SELECT id FROM {entries} AS checked))
     GROUP BY p.id, p.refunded
    HAVING p.refunded <> coalesce(sum(r.amount), 0) OR p.refunded > p.amount
     ORDER BY p.id LIMIT 100
    """,
)

CHECKS = (payments_match_entries, refunds_match_payments)
