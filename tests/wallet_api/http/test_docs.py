"""The interactive docs load nothing from another host: every script, style and icon they name
is served by the service itself."""

from __future__ import annotations

import re

import pytest

from tests.wallet_api.http.api import Api


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_pages_load_everything_from_the_service(api: Api, page: str) -> None:
    response = await api.client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    named = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", response.text)
    named += re.findall(r"""url:\s*["']([^"']+)["']""", response.text)
    assets = [url for url in named if not url.startswith("#")]
    assert assets, response.text
    for url in assets:
        assert url.startswith("/") and not url.startswith("//"), url
        fetched = await api.client.get(url)
        assert fetched.status_code == 200, url
        assert fetched.content, url
    assert "cdn" not in response.text.lower()
