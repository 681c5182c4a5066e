"""The sync routes of the team server, under ``/api/v1``: pull pages, the push handshake,
kept conflicts and the push audit.

The three routes of the sync protocol (changes, missing, push) first check the
client's protocol version (:mod:`cmf_core.sync.protocol`) and state the server's.
Each route is a thin call into :mod:`cmf_core.sync.service` or the store; the
records' models validate every body before anything reaches the store, and a
push is merged in one transaction, so a request cut off midway leaves nothing
half-written.
"""

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Response

from cmf_core.auth import Scope
from cmf_core.store import Store
from cmf_core.sync.protocol import SYNC_PROTOCOL, SYNC_PROTOCOL_HEADER, refusal_for_client
from cmf_core.sync.service import SYNC_PAGE_LIMIT, sync_changes, sync_missing, sync_receive
from cmf_core.sync.wire import SyncBatch, SyncOffer, SyncPage
from cmf_mcp.http.deps import get_store, require
from cmf_mcp.http.problems import Problem

STATED = {SYNC_PROTOCOL_HEADER: str(SYNC_PROTOCOL)}


def same_protocol(
    response: Response,
    stated: Annotated[
        str | None,
        Header(
            alias=SYNC_PROTOCOL_HEADER,
            description=f"the client's sync protocol version (this server speaks {SYNC_PROTOCOL})",
        ),
    ] = None,
) -> None:
    """Refuse a client of another sync protocol, before its token or body is looked at;
    state this server's version on every answer."""
    refusal = refusal_for_client(stated)
    if refusal is not None:
        raise Problem(400, refusal, kind="protocol", headers=STATED)
    response.headers.update(STATED)


router = APIRouter()
sync = APIRouter(dependencies=[Depends(same_protocol)])

StoreDep = Annotated[Store, Depends(get_store)]


@sync.get(
    "/sync/changes",
    tags=["sync"],
    response_model=SyncPage,
    summary="SyncBatch journaled after a sequence number",
    dependencies=[Depends(require(Scope.READ))],
)
def changes(
    store: StoreDep,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="the last sequence seen")] = 0,
    limit: Annotated[int, Query(ge=1, le=SYNC_PAGE_LIMIT)] = 500,
) -> Response:
    page = sync_changes(store, after, limit=limit)
    # Serialised once, by the page's own model (a page can hold 100,000 rows).
    return Response(page.model_dump_json(), media_type="application/json", headers=STATED)


@sync.post(
    "/sync/missing",
    tags=["sync"],
    summary="Which of these records the server lacks",
    dependencies=[Depends(require(Scope.WRITE))],
)
def missing(store: StoreDep, offer: Annotated[SyncOffer, Body()]) -> SyncOffer:
    return sync_missing(store, offer)


@sync.post(
    "/sync/push",
    tags=["sync"],
    summary="Merge pushed records (one transaction; audited)",
)
def push(
    store: StoreDep,
    records: Annotated[SyncBatch, Body()],
    token: Annotated[Any, Depends(require(Scope.WRITE))],
) -> dict[str, Any]:
    return sync_receive(store, records, actor=token.name).model_dump(mode="json")


@router.get(
    "/conflicts",
    tags=["sync"],
    summary="SyncBatch a merge kept apart: both versions",
    dependencies=[Depends(require(Scope.READ))],
)
def list_conflicts(
    store: StoreDep,
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return [asdict(c) for c in store.list_conflicts(after=after, limit=limit)]


@router.get(
    "/audit",
    tags=["sync"],
    summary="Who pushed what, when (admin)",
    dependencies=[Depends(require(Scope.ADMIN))],
)
def read_audit(
    store: StoreDep,
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    actor: Annotated[str | None, Query(max_length=255)] = None,
) -> list[dict[str, Any]]:
    return [asdict(e) for e in store.read_audit(after=after, limit=limit, actor=actor)]


router.include_router(sync)
