"""HTTP endpoints of a wallet's devices (`/v1/wallets/{wallet_id}/devices`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from wallet_api.devices import service
from wallet_api.http.deps import IdempotencyKeyHeader, SessionDep
from wallet_api.http.idempotency import respond_once
from wallet_api.http.roles import Holder, HolderOrOperator
from wallet_api.http.schemas.devices import DeviceList, DeviceOut, DeviceRegister
from wallet_api.wallets.service import own_wallet, wallet_for

router = APIRouter(prefix="/v1/wallets/{wallet_id}/devices", tags=["devices"])


@router.post("", status_code=201, response_model=DeviceOut)
async def register_device(
    wallet_id: str,
    body: DeviceRegister,
    request: Request,
    session: SessionDep,
    actor: Holder,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Register a phone's Ed25519 public key; the app signs its payment intents with the key."""

    async def operation() -> tuple[int, DeviceOut]:
        wallet = await own_wallet(session, actor, wallet_id)
        device = await service.register_device(
            session, wallet, public_key=body.public_key, label=body.label
        )
        return 201, DeviceOut.of(device)

    return await respond_once(request, session, actor, idempotency_key, body, operation)


@router.get("")
async def list_devices(wallet_id: str, session: SessionDep, actor: HolderOrOperator) -> DeviceList:
    wallet = await wallet_for(session, actor, wallet_id)
    return DeviceList(
        devices=[DeviceOut.of(d) for d in await service.wallet_devices(session, wallet)]
    )


@router.post("/{device_id}/revoke", response_model=DeviceOut)
async def revoke_device(
    wallet_id: str,
    device_id: str,
    request: Request,
    session: SessionDep,
    actor: HolderOrOperator,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Revoke a device (a lost or replaced phone): its intents are refused from now on."""

    async def operation() -> tuple[int, DeviceOut]:
        wallet = await wallet_for(session, actor, wallet_id)
        return 200, DeviceOut.of(await service.revoke_device(session, wallet, device_id))

    return await respond_once(request, session, actor, idempotency_key, None, operation)
