"""The benchmark the README's figures come from still runs: a short run of every workload, each
with transactions and latencies (the figures themselves are measured by hand, never here)."""

from __future__ import annotations

import json

from sqlalchemy.engine import URL

from tests.wallet_api.cli.test_cli import aizu


def test_the_ledger_benchmark_prints_a_figure_for_every_run(server_url: URL) -> None:
    ran = aizu("bench", "ledger", "--seconds", "1", "--clients", "1", "--json", database=server_url)
    assert ran.returncode == 0, ran.stderr[-2000:]
    report = json.loads(ran.stdout)
    runs = {(run["system"], run["workload"]) for run in report["runs"]}
    assert runs == {
        (system, workload)
        for system in ("pgbench", "ledger", "batched")
        for workload in ("uniform", "hot")
    }
    for run in report["runs"]:
        assert run["clients"] == 1
        assert run["transactions"] > 0 and run["tps"] > 0, run
        assert 0 < run["p50_ms"] <= run["p99_ms"], run
    assert report["conditions"]["server"] == "DATABASE_URL"
