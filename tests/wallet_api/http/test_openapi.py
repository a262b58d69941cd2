"""The OpenAPI document: versioned paths, and an example for every request body."""

from __future__ import annotations

from fastapi.routing import APIRoute
from pydantic import TypeAdapter

from tests.wallet_api.http.api import Api, body_models
from wallet_api.actor import Role
from wallet_api.http.app import PUBLIC_ROUTERS, ROUTERS
from wallet_api.http.schemas.problems import Problem


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
    # The documentation lists the operations under tags in an order of their own, whatever
    # order the routes are matched in: every tag an operation has is in that list.
    used = {
        tag
        for operations in document["paths"].values()
        for o in operations.values()
        for tag in o.get("tags", [])
    }
    assert used == {tag["name"] for tag in document["tags"]}
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


# The operations anyone may call without a token (their refusals are fewer).
PUBLIC_PATHS = {
    r.path for router in PUBLIC_ROUTERS for r in router.routes if isinstance(r, APIRoute)
}


async def test_every_operation_declares_its_refusals_as_problem_documents(api: Api) -> None:
    document = (await api.client.get("/openapi.json")).json()
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "code", "detail"} <= set(problem["required"])
    operations = 0
    for path, methods in document["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in methods.items():
            responses = operation["responses"]
            public = "security" not in operation and path in PUBLIC_PATHS
            expected = {"404", "413", "422", "500", "503"} | (
                set() if public else {"400", "401", "403", "409", "423", "429"}
            )
            assert expected <= set(responses), f"{method.upper()} {path}"
            for status in expected:
                content = responses[status]["content"]
                assert content == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, f"{method.upper()} {path} {status}"
            for status, response in responses.items():
                if status.startswith("2") and "application/json" in response.get("content", {}):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema, f"{method.upper()} {path}: an empty success schema"
            operations += 1
    assert operations >= 60
    # A real refusal is the document declared.
    refused = await api.get("/v1/wallets/w-nobody", api.token(Role.OPERATOR))
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert Problem.model_validate(refused.json()).code == "unknown_wallet"
