"""Every refusal any package raises has its HTTP status in the one table."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

from ledger.errors import DomainError
from wallet_api.errors import WrongPin
from wallet_api.http.problems import STATUS_BY_CODE, refusal_document, status_of

PACKAGES = ("ledger", "merchant", "city_hall", "campaigns", "reconciliation", "wallet_api")


def every_refusal() -> list[type[DomainError]]:
    for name in PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            if ".migrations" not in module.name and not module.name.endswith(".__main__"):
                importlib.import_module(module.name)
    found: list[type[DomainError]] = []
    pending = [DomainError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("refusal", every_refusal(), ids=lambda cls: cls.__qualname__)
def test_every_code_has_a_status(refusal: type[DomainError]) -> None:
    assert refusal.code in STATUS_BY_CODE, f"{refusal.__module__}.{refusal.__qualname__}"
    assert 400 <= STATUS_BY_CODE[refusal.code] < 600


def test_a_refusal_document_carries_its_extra_members() -> None:
    refusal = WrongPin("wrong PIN", attempts_left=2)
    assert status_of(refusal) == 403
    assert refusal_document(refusal) == {
        "type": "about:blank#wrong_pin",
        "title": "Forbidden",
        "status": 403,
        "code": "wrong_pin",
        "detail": "wrong PIN",
        "attempts_left": 2,
    }
