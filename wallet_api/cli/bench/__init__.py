"""`aizu bench`: benchmarks that print numbers, each measured against pgbench on the same
PostgreSQL in the same run (`ledger`: the ledger's posting; `http`: payments end to end over
HTTP; `herd`: a campaign's sale opening)."""
