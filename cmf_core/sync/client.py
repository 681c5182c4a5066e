"""The HTTP client of a team server's sync routes (``/api/v1/sync/…``).

Every request states this cmf's sync protocol version and every answer's is checked
(:mod:`cmf_core.sync.protocol`), so a server of another version is refused with both
versions named before anything is merged.

One :class:`SyncClient` keeps one connection pool to one server. Every failure
becomes a :class:`~cmf_core.errors.SyncError` or
:class:`~cmf_core.errors.AuthError` that says what to do next; nothing a
failed request did is lost locally, since cursors move only after the server
has answered. Unreachable servers, timeouts and 502/503/504 answers are
retried a few times with a growing pause before giving up.
"""

import time
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, ValidationError

from cmf_core.errors import AuthError, InvalidInputError, Kind, SyncError
from cmf_core.store.batch import MergeSummary
from cmf_core.sync.protocol import SYNC_PROTOCOL, SYNC_PROTOCOL_HEADER, refusal_for_server
from cmf_core.sync.wire import SyncBatch, SyncOffer, SyncPage

API = "/api/v1"
RETRIES = 3
RETRY_PAUSE_S = 0.5
TIMEOUT_S = 120.0  # a push batch is merged in one transaction on the server
TRANSIENT = {502, 503, 504}

ModelT = TypeVar("ModelT", bound=BaseModel)


def server_identity(url: str) -> str:
    """``url`` as sync names it in cursors and journal origins: no credentials, query or
    trailing slash; scheme and host in lower case."""
    if not isinstance(url, str) or "://" not in url:
        raise InvalidInputError(
            f"{url!r} is not a server URL; give one like https://cmf.example.org."
        )
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInputError(
            f"{url!r} is not an http(s) server URL; give one like https://cmf.example.org."
        )
    host = parts.hostname.lower() + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme.lower(), host, parts.path.rstrip("/"), "", ""))


class SyncClient:
    """Sync calls to the server at ``url`` with bearer ``token``."""

    def __init__(self, url: str, token: str | None, *, timeout: float = TIMEOUT_S) -> None:
        self.identity = server_identity(url)
        headers = {"User-Agent": "cmf-sync", SYNC_PROTOCOL_HEADER: str(SYNC_PROTOCOL)}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(base_url=self.identity, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- calls -------------------------------------------------------------------------------

    def changes(self, after: int, *, limit: int = 500) -> SyncPage:
        """The server's records journaled after sequence ``after``."""
        response = self._call("GET", "/sync/changes", params={"after": after, "limit": limit})
        return self._parse(SyncPage, response)

    def missing(self, offer: SyncOffer) -> SyncOffer:
        """The part of ``offer`` the server lacks or holds otherwise."""
        body = offer.model_dump_json().encode()
        return self._parse(SyncOffer, self._call("POST", "/sync/missing", content=body))

    def push(self, records: SyncBatch) -> MergeSummary:
        """Send ``records``; the server merges them in one transaction and says how."""
        body = records.model_dump_json().encode()
        return self._parse(MergeSummary, self._call("POST", "/sync/push", content=body))

    def audit(
        self, *, after: int = 0, limit: int = 100, actor: str | None = None
    ) -> list[dict[str, Any]]:
        """The server's push audit (needs an admin token)."""
        params: dict[str, Any] = {"after": after, "limit": limit}
        if actor:
            params["actor"] = actor
        found = self._call("GET", "/audit", params=params).json()
        if not isinstance(found, list):
            raise SyncError(f"The server {self.identity} sent an audit cmf cannot read.")
        return found

    # -- plumbing ----------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Content-Type": "application/json"} if "content" in kwargs else {}
        for attempt in range(RETRIES + 1):
            try:
                response = self._http.request(method, API + path, headers=headers, **kwargs)
            except httpx.TimeoutException as exc:
                failure = SyncError(
                    f"The server {self.identity} did not answer in time ({exc.__class__.__name__}"
                    "). Nothing was lost here; run the command again to resume."
                )
            except httpx.HTTPError as exc:
                failure = SyncError(
                    f"Cannot reach the server {self.identity}: {exc}. Check the URL and that "
                    "`cmf server` runs there; nothing was lost here, run the command again to "
                    "resume."
                )
            else:
                if response.status_code not in TRANSIENT:
                    if path.startswith("/sync/"):
                        self._check_protocol(response)
                    self._check(response)
                    return response
                failure = SyncError(
                    f"The server {self.identity} is unavailable ({response.status_code}: "
                    f"{_detail(response)}). Nothing was lost here; run the command again later."
                )
            if attempt < RETRIES:
                time.sleep(RETRY_PAUSE_S * 2**attempt)
        raise failure

    def _check_protocol(self, response: httpx.Response) -> None:
        """Refuse a server of another sync protocol (see :mod:`cmf_core.sync.protocol`).

        A server states its version on every sync answer, refusals included, except where
        it did not get that far (a token refused, a proxy's or another program's 404): those
        are said by :meth:`_check`.
        """
        stated = response.headers.get(SYNC_PROTOCOL_HEADER)
        if stated is None and response.status_code in (401, 403, 404, 405, 413):
            return
        refusal = refusal_for_server(stated, self.identity)
        if refusal is not None:
            raise SyncError(refusal)

    def _check(self, response: httpx.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        detail = _detail(response)
        if status == 401:
            raise AuthError(
                f"The server {self.identity} refused the token: {detail} Give a valid token "
                "with --token or CMF_SERVER_TOKEN (`cmf token create` on the server makes one).",
                kind=Kind.TOKEN,
            )
        if status == 403:
            raise AuthError(
                f"The server {self.identity} refused this: {detail} A push needs a token with "
                "scope 'write'.",
                kind=Kind.SCOPE,
            )
        if status == 404:
            raise SyncError(
                f"{self.identity} has no sync API ({detail}). Is it a cmf server "
                "(`cmf server`), and is the URL its root?"
            )
        raise SyncError(f"The server {self.identity} answered {status}: {detail}")

    def _parse(self, model: type[ModelT], response: httpx.Response) -> ModelT:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise SyncError(
                f"The server {self.identity} sent an answer cmf cannot read "
                f"({exc.error_count()} problem(s), first: {exc.errors()[0]['msg']}). Is it a "
                "cmf server of a compatible version?"
            ) from exc


def _detail(response: httpx.Response) -> str:
    """The problem's ``detail`` (RFC 9457), or the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)[:500]
    return str(body)[:200]


__all__ = ["SyncClient", "server_identity"]
