"""The double-entry core: accounts, entries, postings, lots, holds and balances.

It knows nothing of the packages above it; they call `ledger.service` with their session."""
