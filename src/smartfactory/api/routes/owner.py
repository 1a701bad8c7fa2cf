"""The owner endpoint under /_owner/v1: other processes on this machine call the store owner's use cases.

The process holding the telemetry file for writing (``smartfactory serve``, ``ingest``) publishes
its loopback URL and a token in the store's owner file (``smartfactory.store.owner``); the CLI of
another process calls the use cases of ``smartfactory.app.remote`` here instead of opening the
store. Only that token opens these routes: no user session or API token does, and only from a
loopback address, whatever address the server listens on. Not part of the public API.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from smartfactory.api.auth.deps import SignInRequired, WorkspaceDep
from smartfactory.app import remote
from smartfactory.store.owner import OWNER_PATH, OwnerInfo, publish_owner, withdraw_owner

OWNER_PREFIX = OWNER_PATH


def loopback(host: str | None) -> bool:
    """Whether a client address is this machine's (127.0.0.0/8, ::1, IPv4-mapped loopback)."""
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def owner_of(request: Request) -> OwnerInfo | None:
    """What this process published as the store's owner, or None when it publishes nothing."""
    found: OwnerInfo | None = getattr(request.app.state, "owner", None)
    return found


def owner_token_required(request: Request) -> OwnerInfo:
    """The dependency of every owner route: a loopback client sending this process's owner token."""
    owner = owner_of(request)
    header = request.headers.get("authorization", "")
    scheme, _sep, credentials = header.partition(" ")
    sent = credentials.strip() if scheme.lower() == "bearer" else ""
    client = request.client.host if request.client else None
    # the same answer for every refusal: a caller learns nothing about which check failed
    accepted = (
        owner is not None and loopback(client) and secrets.compare_digest(sent.encode(), owner.token.encode())
    )
    if not accepted or owner is None:
        # answered as any request without valid credentials: 401, asking for a bearer token
        raise SignInRequired(page=False)
    return owner


Owner = Annotated[OwnerInfo, Depends(owner_token_required)]
router = APIRouter(prefix=OWNER_PREFIX, include_in_schema=False, dependencies=[Depends(owner_token_required)])


class OwnerStatus(BaseModel):
    """Who owns the store, as the owner itself says."""

    pid: int
    command: str
    store: str
    started_at: str


@router.get("/status", response_model=OwnerStatus)
async def status(owner: Owner, workspace: WorkspaceDep) -> OwnerStatus:
    """The owner process: its id, command, store folder and start time."""
    return OwnerStatus(
        pid=owner.pid,
        command=owner.command,
        store=str(workspace.store_path.resolve()),
        started_at=owner.started_at,
    )


@router.post("/call/{name}")
async def call(name: str, request: Request, workspace: WorkspaceDep) -> Response:
    """Run the registered use case ``name`` with this process's workspace (body: ``remote.CallRequest``)."""
    body = await request.body()
    answer = await run_in_threadpool(remote.serve_call, workspace, name, body)
    return Response(answer, media_type="application/json")


def publish(app: FastAPI, folder: str | Path, url: str, command: str) -> OwnerInfo:
    """Publish this process as the store's owner, its endpoint at ``url`` (call at start-up)."""
    info = publish_owner(folder, url, command)
    app.state.owner = info
    return info


def withdraw(app: FastAPI, folder: str | Path) -> None:
    """Stop being the store's owner: no more calls, and the owner file is removed (call at shutdown)."""
    app.state.owner = None
    withdraw_owner(folder, os.getpid())
