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


def test_the_http_benchmark_pays_over_http_beside_pgbench_and_the_bare_endpoint(
    server_url: URL,
) -> None:
    ran = aizu(
        "bench",
        "http",
        "--seconds",
        "1",
        "--connections",
        "2",
        "--workers",
        "2",
        "--wallets",
        "100",
        "--shops",
        "3",
        "--json",
        database=server_url,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    report = json.loads(ran.stdout)
    runs = {(run["system"], run["workload"]): run for run in report["runs"]}
    assert set(runs) == {
        ("pgbench", "uniform"),
        ("pgbench", "hot"),
        ("http", "uniform"),
        ("http", "hot"),
        ("http", "half-peak"),
        ("bare", "uniform"),
    }
    for run in runs.values():
        assert run["errors"] == 0, run  # every payment answered 201
        assert run["transactions"] > 0 and run["tps"] > 0, run
        assert 0 < run["p50_ms"] <= run["p99_ms"] <= run["p999_ms"], run
    peak = max(runs["http", "uniform"]["tps"], runs["http", "hot"]["tps"])
    assert report["peak_payments_per_second"] == round(peak, 1)
    assert report["p99_ms_at_half_peak"] == runs["http", "half-peak"]["p99_ms"]
    for key in ("http_ratio_vs_pgbench", "http_ratio_vs_bare", "hot_vs_uniform"):
        assert report[f"{key}_32_connections"] is None  # 32 connections were not run
    assert report["conditions"]["api_workers"] == 2


def test_the_herd_benchmark_sells_exactly_the_sets_and_answers_every_request(
    server_url: URL,
) -> None:
    ran = aizu(
        "bench",
        "herd",
        "--residents",
        "200",
        "--workers",
        "2",
        "--json",
        database=server_url,
    )
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-2000:]
    report = json.loads(ran.stdout)
    assert report["errors"] == 0, report["errors_by_answer"]
    assert report["answered"] == report["requests"] > report["residents"] == 200
    assert report["early_refusals"] == {"outside_sale_window": report["early_requests"]}
    assert 0 < report["total_sets"] < report["demand"]
    assert report["sold"] == report["created"] == min(report["demand"], report["total_sets"])
    assert set(report["refusals"]) <= {"sold_out", "personal_cap_reached"}
    assert report["created"] + sum(report["refusals"].values()) == report["requests"]
    for overrun in ("cap_overruns", "budget_overrun", "budget_mismatch", "paid_mismatch"):
        assert report[overrun] == 0, overrun
    assert report["books_ok"] and report["ok"]
    assert 0 < report["p50_ms"] <= report["p99_ms"] <= report["p999_ms"]
    assert report["herd_seconds"] > 0 and report["answers_per_second"] > 0
    assert report["conditions"]["api_workers"] == 2
    assert report["conditions"]["load_ready_before_opening_seconds"] > 0


def test_the_book_benchmark_writes_seals_and_checks_a_book_that_holds(server_url: URL) -> None:
    ran = aizu("bench", "book", "--postings", "20000", "--days", "3", "--json", database=server_url)
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-2000:]
    report = json.loads(ran.stdout)
    assert (report["postings"], report["entries"], report["days"]) == (20_000, 10_000, 3)
    assert report["violations"] == [] and report["ok"]
    for phase in ("seconds_to_write", "seconds_to_seal", "seconds_to_check"):
        assert report[phase] > 0, phase
