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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas
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
        "daily.csv",
        "data_dictionary.json",
    ]
    journal = journal_file(tmp_path, region.currency, today)
    assert journal.is_file() and not journal.is_relative_to(tmp_path / "feed")
    [day] = read_csv(folder / "daily.csv")
    assert list(day) == ["business_date", "currency", *FIGURES]  # the dictionary's, in order
    # Points and counts are whole numbers, ratios are not.
    assert (day["spending"], day["active_wallets"]) == ("8400", "12")
    assert float(day["velocity"]) > 0 and "." in day["velocity"]
    cells = read_csv(folder / "cells.csv")
    resident_cells = [c for c in cells if c["table"] != "merchant_lorenz"]
    assert [
        (c["table"], c["row"], c["column"], c["amount"], c["people"], c["withheld"])
        for c in resident_cells
    ] == [
        ("age_band_to_sector", "20-29", "M", "7000", "10", "false"),
        # Two residents of Oze: too few to describe, so nothing of them but that it is withheld.
        ("age_band_to_sector", "75+", "M", "", "", "true"),
        ("district_to_district", "Kitaaizu", "Kitaaizu", "7000", "10", "false"),
        ("district_to_district", "Oze", "Kitaaizu", "", "", "true"),
    ]
    everything = (folder / "cells.csv").read_text()
    assert "1400" not in everything  # what the two of Oze paid together
    dictionary = json.loads((folder / "data_dictionary.json").read_text())
    assert set(dictionary["figures"]) == set(FIGURES)
    assert set(dictionary["tables"]) == set(TABLES)
    assert "k-anonymity" in dictionary["tables"]["district_to_district"]["people"]["suppression"]
    assert dictionary["figures"]["velocity"]["type"] == "float"
    assert dictionary["figures"]["spending"]["type"] == "integer"

    economist = api.token(Role.ECONOMIST)
    served = await api.get(
        f"/v1/statistics/{region.currency}/daily", economist, since=today.isoformat()
    )
    [served_day] = served.json()
    assert served_day == {
        name: (
            None if not value else int(value) if FIGURES[name].type == "integer" else float(value)
        )
        if name in FIGURES
        else value
        for name, value in day.items()
    }
    assert isinstance(served_day["spending"], int) and isinstance(served_day["velocity"], float)
    long = await api.get(
        f"/v1/statistics/{region.currency}/figures", economist, since=today.isoformat()
    )
    assert {f["name"]: f["value"] for f in long.json()} == {
        name: value for name, value in served_day.items() if name in FIGURES
    }
    served_cells = await api.get(
        f"/v1/statistics/{region.currency}/cells",
        economist,
        since=today.isoformat(),
        table="district_to_district",
    )
    assert [(c["row"], c["amount"], c["people"], c["withheld"]) for c in served_cells.json()] == [
        ("Kitaaizu", 7_000, 10, False),
        ("Oze", None, None, True),
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
    district = [c for c in read_csv(folder / "cells.csv") if c["table"] == "district_to_district"]
    assert [(c["row"], c["amount"], c["withheld"]) for c in district] == [
        ("Kitaaizu", "", "true"),
        ("Oze", "", "true"),
    ]

    if shutil.which("hledger") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have hledger (Debian's package): .ci/run installs it")
        pytest.skip("hledger is not installed (apt-get install hledger)")
    async with city.sessions() as session:
        ours = await trial_balance(session, region.currency, today)
    theirs = hledger_balances(ledger_file(tmp_path, region.currency))
    assert {a: b for a, b in ours.items() if b} == theirs
    assert sum(theirs.values()) == 0


async def test_a_range_of_days_reads_the_same_from_the_dataset_the_api_and_its_downloads(
    city: City, tmp_path: Path
) -> None:
    api = city.api
    region = await new_region(api)
    ramen = await shop(api, region)
    for _ in range(3):
        someone = await resident(
            api, region, consents=True, age_band="30-39", district="Kawahigashi"
        )
        assert (await charge(api, ramen, shown_token(someone, 500), 500)).status_code == 201
    today = business_date(datetime.now(UTC))
    tomorrow = today + timedelta(days=1)
    for day in (today, tomorrow):
        await run_night(
            city.sessions, Night(day, after(day), api.platform_key, export_dir=tmp_path), STEPS
        )

    economist = api.token(Role.ECONOMIST)
    span = {"since": today.isoformat(), "until": tomorrow.isoformat()}
    served = (await api.get(f"/v1/statistics/{region.currency}/daily", economist, **span)).json()
    assert [row["business_date"] for row in served] == [today.isoformat(), tomorrow.isoformat()]
    assert [row["spending"] for row in served] == [1_500, 0]

    # The whole dataset at once, as an economist opens it, partitioned by date.
    dataset = tmp_path / "feed" / region.currency
    whole = f"read_parquet('{dataset}/daily/*/*.parquet', hive_partitioning = true)"
    connection = duckdb.connect()
    read = connection.execute(f"SELECT * FROM {whole} ORDER BY business_date")
    columns = [column[0] for column in read.description or []]
    rows = [dict(zip(columns, values, strict=True)) for values in read.fetchall()]
    assert [{**row, "business_date": row["business_date"].isoformat()} for row in rows] == served
    types = {
        name: kind
        for name, kind, *_ in connection.execute(f"DESCRIBE SELECT * FROM {whole}").fetchall()
    }
    assert (types["spending"], types["velocity"], types["business_date"]) == (
        "BIGINT",
        "DOUBLE",
        "DATE",
    )
    cells = connection.execute(
        "SELECT count(*), count(*) FILTER (WHERE withheld AND amount IS NULL) FROM "
        f"read_parquet('{dataset}/cells/*/*.parquet', hive_partitioning = true)"
    ).fetchall()
    served_cells = (
        await api.get(f"/v1/statistics/{region.currency}/cells", economist, **span)
    ).json()
    assert cells == [(len(served_cells), sum(c["withheld"] for c in served_cells))]
    frame = pandas.read_parquet(dataset / "daily")
    assert len(frame) == 2 and str(frame["spending"].dtype) == "int64"

    # The same range as one file to download, the date a column of it.
    parquet = await api.get(f"/v1/statistics/{region.currency}/daily.parquet", economist, **span)
    assert parquet.status_code == 200
    assert parquet.headers["content-disposition"].endswith(f'-{tomorrow}.parquet"')
    downloaded = pq.read_table(io.BytesIO(parquet.content)).to_pylist()
    assert [
        {**row, "business_date": row["business_date"].isoformat()} for row in downloaded
    ] == served
    as_csv = await api.get(f"/v1/statistics/{region.currency}/cells.csv", economist, **span)
    assert len(list(csv.DictReader(io.StringIO(as_csv.text)))) == len(served_cells)
    wrong = await api.get(f"/v1/statistics/{region.currency}/daily.xlsx", economist, **span)
    assert wrong.status_code == 422

    # For anyone, without a token: totals of the currency up to today (tomorrow's figures,
    # computed ahead here, are not yet), the last day's holdings.
    headline = await api.client.get(f"/v1/statistics/{region.currency}/headline")
    assert headline.status_code == 200, headline.text
    assert headline.json() | {"outstanding_by_kind": None} == {
        "currency": region.currency,
        "business_date": today.isoformat(),
        "outstanding": served[0]["outstanding_purchased"],
        "outstanding_by_kind": None,
        "days": 1,
        "issued": sum(served[0][name] for name in served[0] if name.startswith("issued_")),
        "spending": 1_500,
        "city_fees": 0,
        "redemption": 0,
    }
    empty = await api.client.get("/v1/statistics/NOSUCH/headline")
    assert (empty.status_code, empty.json()["business_date"]) == (200, None)
