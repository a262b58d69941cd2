"""The OpenAPI document: versioned paths, and an example for every request body."""

from __future__ import annotations

from fastapi.routing import APIRoute
from pydantic import TypeAdapter

from tests.wallet_api.http.api import Api, body_models
from wallet_api.http.app import ROUTERS


async def test_every_request_body_has_an_example_and_paths_are_versioned(api: Api) -> None:
    response = await api.client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    schemas = document["components"]["schemas"]
    bodies = 0
    for path, operations in document["paths"].items():
        assert path.startswith("/v1/") or path == "/health", path
        for method, operation in operations.items():
            body = operation.get("requestBody")
            if body is None:
                continue
            schema = body["content"]["application/json"]["schema"]
            for member in schema.get("oneOf", [schema]):
                name = member["$ref"].rsplit("/", 1)[-1]
                assert schemas[name].get("examples"), f"{method.upper()} {path}: no example"
            bodies += 1
    assert bodies >= 10
    docs = await api.client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


def test_every_example_is_a_valid_request() -> None:
    checked = 0
    for router in ROUTERS:
        for route in router.routes:
            if not isinstance(route, APIRoute) or route.body_field is None:
                continue
            annotation = route.body_field.field_info.annotation
            assert annotation is not None, route.path
            for model in body_models(annotation):
                for example in model.model_json_schema().get("examples", []):
                    model.model_validate(example)
                    TypeAdapter(annotation).validate_python(example)
                    checked += 1
    assert checked >= 10
