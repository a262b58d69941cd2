"""Each request in one JSON log line with its id, echoed in `X-Request-ID`: the route as
declared, the status, the time taken and who asked, and never a token, a PIN, a card's code or
a name from the body."""

from __future__ import annotations

import json
import logging
import logging.config
import re

import pytest

from tests.wallet_api.http.api import Api, new_region, open_wallet
from tests.wallet_api.http.test_cards import card_of
from wallet_api.actor import Role
from wallet_api.cli.logs import JsonLines, logging_config


def lines_of(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    """The request log's records as the service writes them: a JSON object each."""
    formatter = JsonLines()
    return [
        json.loads(formatter.format(record))
        for record in caplog.records
        if record.name == "aizu.request"
    ]


async def test_a_request_is_told_once_with_its_id_and_who_asked(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    region = await new_region(api)
    wallet_id, resident = await open_wallet(api, region)
    card = await card_of(api, region, wallet_id)
    caplog.set_level(logging.INFO, logger="aizu.request")

    given = await api.client.get("/v1/regions", headers={"X-Request-ID": "till-7.sale-42"})
    assert given.headers["x-request-id"] == "till-7.sale-42"
    forged = await api.client.get("/v1/regions", headers={"X-Request-ID": 'x" level=error'})
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["x-request-id"])

    caplog.clear()
    cashier = api.token(Role.CASHIER, "cashier-sato", counter=region.counter)
    scanned = await api.post(
        "/v1/cards/authenticate", cashier, {"qr_payload": card["qr_payload"], "pin": "4821"}
    )
    assert scanned.status_code == 200, scanned.text
    [line] = lines_of(caplog)
    assert line["request_id"] == scanned.headers["x-request-id"]
    assert (line["method"], line["route"], line["status"]) == (
        "POST",
        "/v1/cards/authenticate",
        200,
    )
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert (line["actor"], line["roles"]) == ("cashier-sato", ["cashier"])
    written = json.dumps(line)
    token = cashier["Authorization"].removeprefix("Bearer ")
    secret = card["qr_payload"].rsplit(":", 1)[-1]
    for never in (token, "4821", secret, card["qr_payload"]):
        assert never not in written

    # A route is told as declared, not with the wallet's id; a refusal with its status.
    caplog.clear()
    read = await api.get(f"/v1/wallets/{wallet_id}/balance", resident)
    refused = await api.get(f"/v1/wallets/{wallet_id}/balance", region.cashier)
    assert (read.status_code, refused.status_code) == (200, 403)
    [first, second] = lines_of(caplog)
    assert first["route"] == second["route"] == "/v1/wallets/{wallet_id}/balance"
    assert (first["status"], second["status"]) == (200, 403)
    assert wallet_id not in json.dumps([first, second])
    caplog.clear()
    await api.client.get("/no/such/place")
    [unmatched] = lines_of(caplog)
    assert (unmatched["route"], unmatched["status"]) == ("unmatched", 404)
    assert "actor" not in unmatched


def test_the_service_logs_json_lines_or_text(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    logging.config.dictConfig(logging_config("info", "json"))
    try:
        logging.getLogger("aizu.test").info("paid %s", 1_200, extra={"fields": {"route": "/v1"}})
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("aizu.test").exception("failed")
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
        assert [(line["level"], line["message"]) for line in lines] == [
            ("info", "paid 1200"),
            ("error", "failed"),
        ]
        assert lines[0]["route"] == "/v1" and lines[0]["logger"] == "aizu.test"
        assert "ValueError: boom" in str(lines[1]["error"])
        logging.config.dictConfig(logging_config("info", "text"))
        logging.getLogger("aizu.test").info("plain")
        assert capsys.readouterr().err.rstrip().endswith("INFO aizu.test: plain")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
