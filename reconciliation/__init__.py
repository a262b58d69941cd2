"""Nightly jobs: invariants, seals, expiry, payouts, bank matching, statistics and exports."""
