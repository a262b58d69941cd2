"""The economists' feed on a city of its own: the night's files (CSV, Parquet, the dictionary,
the journal) and the API say the same; small resident cells appear nowhere; hledger, a program
written by others, gives every account the ledger's balance."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ledger.domain import business_date
from reconciliation.dictionary import FIGURES, TABLES
from reconciliation.feed import feed_folder, journal_file, ledger_file
from reconciliation.journal import trial_balance
from reconciliation.nightly import Night, run_night
from tests.reconciliation.conftest import City, after
from tests.reconciliation.test_statistics import resident
from tests.wallet_api.http.api import new_region
from tests.wallet_api.http.test_charges import charge, shown_token
from tests.wallet_api.http.test_payments import shop
from wallet_api.actor import Role
from wallet_api.nightly import STEPS
from wallet_api.nightly import exports as nightly_exports
from wallet_api.nightly import statistics as nightly_statistics


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def hledger_balances(journal: Path) -> dict[str, int]:
    """Each account's balance as hledger computes it from the journal."""
    shown = subprocess.run(
        ["hledger", "-f", str(journal), "balance", "--flat", "--no-total", "-O", "csv"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    balances = {}
    for row in list(csv.reader(io.StringIO(shown)))[1:]:
        account, amount = row[0], row[1]
        balances[account] = int(amount.split()[0].replace(",", ""))
    return balances


async def test_the_nights_files_and_the_api_say_the_same_and_hledger_agrees(
    city: City, tmp_path: Path
) -> None:
    api = city.api
    region = await new_region(api)
    ramen = await shop(api, region)
    payers = [
        await resident(api, region, consents=True, age_band="20-29", district="Kitaaizu")
        for _ in range(10)
    ] + [
        await resident(api, region, consents=True, age_band="75+", district="Oze") for _ in range(2)
    ]
    for someone in payers:
        assert (await charge(api, ramen, shown_token(someone, 700), 700)).status_code == 201
    today = business_date(datetime.now(UTC))
    night = Night(today, after(today), api.platform_key, export_dir=tmp_path)
    await run_night(city.sessions, night, STEPS)

    folder = feed_folder(tmp_path, region.currency, today)
    # The economists' folder holds statistics only; the journal, every account's postings, is
    # kept apart for auditors.
    assert sorted(p.name for p in folder.iterdir()) == [
        "cells.csv",
        "cells.parquet",
        "data_dictionary.json",
        "figures.csv",
        "figures.parquet",
    ]
    journal = journal_file(tmp_path, region.currency, today)
    assert journal.is_file() and not journal.is_relative_to(tmp_path / "feed")
    figures = read_csv(folder / "figures.csv")
    assert {row["name"] for row in figures} == set(FIGURES)  # every figure is in the dictionary
    assert pq.read_table(folder / "figures.parquet").to_pylist() == [
        {
            "business_date": today,
            "currency": region.currency,
            "name": row["name"],
            "value": float(row["value"]) if row["value"] else None,
        }
        for row in figures
    ]
    cells = read_csv(folder / "cells.csv")
    assert [(c["table"], c["row"], c["column"], c["people"]) for c in cells] == [
        ("age_band_to_sector", "20-29", "M", "10"),
        ("district_to_district", "Kitaaizu", "Kitaaizu", "10"),
    ]
    everything = "".join(p.read_text(errors="ignore") for p in folder.glob("cells.*"))
    assert "Oze" not in everything and "75+" not in everything
    dictionary = json.loads((folder / "data_dictionary.json").read_text())
    assert set(dictionary["figures"]) == set(FIGURES)
    assert set(dictionary["tables"]) == set(TABLES)
    assert "k-anonymity" in dictionary["tables"]["district_to_district"]["people"]["suppression"]

    economist = api.token(Role.ECONOMIST)
    served = await api.get(
        f"/v1/statistics/{region.currency}/figures", economist, since=today.isoformat()
    )
    assert [(f["name"], f["value"]) for f in served.json()] == [
        (row["name"], float(row["value"]) if row["value"] else None) for row in figures
    ]
    served_cells = await api.get(
        f"/v1/statistics/{region.currency}/cells",
        economist,
        since=today.isoformat(),
        table="district_to_district",
    )
    assert [(c["row"], c["amount"], c["people"]) for c in served_cells.json()] == [
        ("Kitaaizu", 7_000, 10)
    ]
    resident_view = await api.get(
        f"/v1/statistics/{region.currency}/figures", payers[0].headers, since=today.isoformat()
    )
    assert resident_view.status_code == 403
    too_long = await api.get(
        f"/v1/statistics/{region.currency}/figures",
        economist,
        since="2025-01-01",
        until=today.isoformat(),
    )
    assert too_long.status_code == 422

    # A resident takes consent back: the next export leaves them out, and the cell, now of
    # nine residents, below the threshold, is gone from it.
    revoked = await api.post(
        f"/v1/wallets/{payers[0].wallet_id}/consents",
        payers[0].headers,
        {"purpose": "statistics", "granted": False, "text_version": "2026-11"},
    )
    assert revoked.status_code == 201
    async with city.sessions() as session:
        await nightly_statistics(session, night)
        await nightly_exports(session, night)
        await session.commit()
    assert read_csv(folder / "cells.csv") == []
    assert pq.read_table(folder / "cells.parquet").num_rows == 0

    if shutil.which("hledger") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have hledger (Debian's package): .ci/run installs it")
        pytest.skip("hledger is not installed (apt-get install hledger)")
    async with city.sessions() as session:
        ours = await trial_balance(session, region.currency, today)
    theirs = hledger_balances(ledger_file(tmp_path, region.currency))
    assert {a: b for a, b in ours.items() if b} == theirs
    assert sum(theirs.values()) == 0
