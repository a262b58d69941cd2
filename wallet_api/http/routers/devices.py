"""HTTP endpoints of a wallet's devices (`/v1/wallets/{wallet_id}/devices`)."""

from __future__ import annotations

from fastapi import APIRouter

from wallet_api.devices import service
from wallet_api.http.deps import SessionDep
from wallet_api.http.idempotency import idempotent
from wallet_api.http.roles import Holder, HolderOrOperator
from wallet_api.http.schemas.devices import DeviceList, DeviceOut, DeviceRegister
from wallet_api.wallets.service import own_wallet, wallet_for

router = APIRouter(prefix="/v1/wallets/{wallet_id}/devices", tags=["devices"])


@router.post("", status_code=201)
@idempotent
async def register_device(
    wallet_id: str, body: DeviceRegister, session: SessionDep, actor: Holder
) -> DeviceOut:
    """Register a phone's Ed25519 public key; the app signs its payment intents with the key."""
    wallet = await own_wallet(session, actor, wallet_id)
    device = await service.register_device(
        session, wallet, public_key=body.public_key, label=body.label
    )
    return DeviceOut.of(device)


@router.get("")
async def list_devices(wallet_id: str, session: SessionDep, actor: HolderOrOperator) -> DeviceList:
    wallet = await wallet_for(session, actor, wallet_id)
    return DeviceList(
        devices=[DeviceOut.of(d) for d in await service.wallet_devices(session, wallet)]
    )


@router.post("/{device_id}/revoke")
@idempotent
async def revoke_device(
    wallet_id: str, device_id: str, session: SessionDep, actor: HolderOrOperator
) -> DeviceOut:
    """Revoke a device (a lost or replaced phone): its intents are refused from now on."""
    wallet = await wallet_for(session, actor, wallet_id)
    return DeviceOut.of(await service.revoke_device(session, wallet, device_id))
