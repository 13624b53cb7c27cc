"""The simulated IQ Gateway over HTTPS, and ``run_simulator`` that starts it with its fake cloud.

Every path but ``/info`` needs a valid bearer token or a live ``sessionId`` cookie, as on firmware 7+;
``/simulator/*`` control routes are open and not logged. Faults are applied before auth, the source
answers last.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web

from ..errors import ConfigError, TokenError
from .auth import SESSION_COOKIE, GatewayAuth, SessionStore, TokenAuthority
from .cloud import DEFAULT_ACCOUNTS, CloudAccount, FakeCloud
from .faults import ActionKind, Fault, FaultKind, FaultSet, in_nightly_gap
from .latency import LatencyProfile
from .requestlog import RequestLog, RequestRecord
from .source import Document, DocumentSource
from .tls import server_ssl_context

SERVER_HEADER = "openresty/1.17.8.1"
OPEN_PATHS = frozenset({"/info"})
CHECK_JWT_PATH = "/auth/check_jwt"
VALID_TOKEN_PAGE = b"<!DOCTYPE html><h2>Valid token.</h2>"
# What firmware 7+ answers without a valid token (captured, 7.3.130_no_consumption).
UNAUTHORIZED_PAGE = (
    b"<html>\r\n<head><title>401 Authorization Required</title></head>\r\n<body>\r\n"
    b"<center><h1>401 Authorization Required</h1></center>\r\n"
    b"<hr><center>Redirecting to <a id='link' href=''></a></center>\r\n<script>\r\n"
    b"const redirect_url = window.location.protocol + '//' + window.location.host + '/home';\r\n"
    b"function redirect() { window.location.href = redirect_url; }\r\n"
    b"window.onload = function() {\r\n    const link = document.getElementById('link');\r\n"
    b"    link.href = redirect_url;\r\n    link.text = redirect_url;\r\n"
    b"    setTimeout(redirect, 500);\r\n}\r\n"
    b"</script>\r\n</body>\r\n</html>\n"
)
STATUS_TITLES = {
    403: "403 Forbidden",
    404: "404 Not Found",
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}
INVALID_JSON_BODY = b"<html><body>Internal error: output interrupted</body></html>\n"
DEFAULT_REBOOT_S = 60.0


def error_page(status: int) -> Document:
    """The gateway's (openresty's) page for an error status."""
    if status == 401:
        return Document(status=401, body=UNAUTHORIZED_PAGE, content_type="text/html")
    title = STATUS_TITLES.get(status, f"{status} Error").encode()
    body = (
        b"<html>\r\n<head><title>"
        + title
        + b"</title></head>\r\n<body>\r\n<center><h1>"
        + title
        + b"</h1></center>\r\n<hr><center>"
        + SERVER_HEADER.encode()
        + b"</center>\r\n</body>\r\n</html>\r\n"
    )
    return Document(status=status, body=body, content_type="text/html")


def parse_listen(value: str, *, flag: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"{flag} {value!r}: expected HOST:PORT (port 0 = any free port)")
    return host, int(port)


def _response(document: Document) -> web.Response:
    headers = {"Server": SERVER_HEADER, **dict(document.headers)}
    if document.content_type is not None:
        headers["Content-Type"] = document.content_type
    kind = web.Response if document.content_type is not None else _UntypedResponse
    return kind(status=document.status, body=document.body, headers=headers)


class _UntypedResponse(web.Response):
    """A response sent without Content-Type, as a real gateway sends several documents."""


async def _drop_default_content_type(_request: web.Request, response: web.StreamResponse) -> None:
    # aiohttp adds a default Content-Type to any body.
    if isinstance(response, _UntypedResponse):
        response.headers.pop("Content-Type", None)


def _drop_connection(request: web.Request) -> web.Response:
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=503)


_DELIVERY_FAULTS = frozenset({FaultKind.CHUNKED, FaultKind.CLOSE, FaultKind.IDLE_CLOSE, FaultKind.CUT})


async def _deliver(request: web.Request, response: web.Response, kind: FaultKind) -> None:
    """Chunked, or the connection's end after the answer: announced (``close``) or not (``idle_close``),
    or in the middle of its body (``cut``)."""
    if kind is FaultKind.CHUNKED:
        response.enable_chunked_encoding()
    elif kind is FaultKind.CLOSE:
        response.force_close()
    elif request.transport is not None:
        await response.prepare(request)
        await response.write_eof()
        # on the next turn of the loop: the request log counts this answer as given
        asyncio.get_running_loop().call_soon(request.transport.close)


class Gateway:
    """Request handling of one simulated gateway (auth, faults, request log, control API)."""

    def __init__(
        self,
        *,
        source: DocumentSource,
        auth: GatewayAuth,
        faults: FaultSet,
        requests: RequestLog,
        latency: LatencyProfile | None = None,
    ) -> None:
        self.source = source
        self.auth = auth
        self.faults = faults
        self.requests = requests
        self.latency = latency or LatencyProfile("none")
        self.closing = asyncio.Event()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._log_middleware])
        app.on_response_prepare.append(_drop_default_content_type)
        app.router.add_get("/simulator/requests", self._show_requests)
        app.router.add_delete("/simulator/requests", self._clear_requests)
        app.router.add_get("/simulator/faults", self._show_faults)
        app.router.add_post("/simulator/faults", self._add_fault)
        app.router.add_delete("/simulator/faults", self._clear_faults)
        app.router.add_routes(self.source.control_routes())
        app.router.add_get("/{tail:.*}", self._serve)
        return app

    def reboot(self, duration_s: float) -> None:
        """Unreachable for ``duration_s`` seconds; sessions are lost, the source's counters go on."""
        self.faults.start_reboot(now_s=time.monotonic(), duration_s=duration_s)
        self.auth.sessions.drop()

    @web.middleware
    async def _log_middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/simulator/"):
            response: web.StreamResponse = await handler(request)
            return response
        started_at_s, started = time.time(), time.perf_counter()
        status = 0
        try:
            response = await handler(request)
            if request.transport is not None and not request.transport.is_closing():
                status = response.status
            return response
        finally:
            self.requests.add(
                RequestRecord(
                    method=request.method,
                    path=request.path,
                    query=request.query_string,
                    status=status,
                    started_at_s=started_at_s,
                    duration_s=time.perf_counter() - started,
                )
            )

    async def _hang(self, request: web.Request) -> web.Response:
        """No answer until the client gives up (its disconnect cancels us) or the simulator stops."""
        await self.closing.wait()
        return _drop_connection(request)

    async def _serve(self, request: web.Request) -> web.Response:
        path = request.path
        if self.faults.rebooting_for_s(time.monotonic()) > 0:
            return _drop_connection(request)
        if self.faults.nightly_gap and in_nightly_gap(self.source.now()):
            return await self._hang(request)
        outcome = self.faults.decide(path)
        if outcome.delay_s > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.closing.wait(), outcome.delay_s)
        failure = outcome.failure
        if failure is not None:
            if failure.kind is FaultKind.TIMEOUT:
                return await self._hang(request)
            if failure.kind is FaultKind.RESET:
                return _drop_connection(request)
            if failure.kind is FaultKind.STATUS:
                return _response(error_page(failure.status))
        await self.latency.serve(path)
        if path == CHECK_JWT_PATH:
            return self._check_jwt(request)
        if path not in OPEN_PATHS and not self.auth.allows(
            authorization=request.headers.get("Authorization"),
            session_id=request.cookies.get(SESSION_COOKIE),
        ):
            return _response(error_page(401))
        document = self.source.document(path, dict(request.query)) or error_page(404)
        if failure is not None and failure.kind is FaultKind.TRUNCATED_JSON:
            document = Document(document.status, document.body[: len(document.body) // 2], "application/json")
        elif failure is not None and failure.kind is FaultKind.INVALID_JSON:
            document = Document(document.status, INVALID_JSON_BODY, "application/json")
        elif failure is not None and failure.kind is FaultKind.CUT:
            announced = (*document.headers, ("Content-Length", str(len(document.body))))
            document = replace(document, body=document.body[: len(document.body) // 2], headers=announced)
        response = _response(document)
        if failure is not None and failure.kind in _DELIVERY_FAULTS:
            await _deliver(request, response, failure.kind)
        return response

    def _check_jwt(self, request: web.Request) -> web.Response:
        try:
            claims = self.auth.verify_bearer(request.headers.get("Authorization"))
        except TokenError:
            return _response(error_page(401))
        response = _response(Document(200, VALID_TOKEN_PAGE, "text/html"))
        response.set_cookie(
            SESSION_COOKIE, self.auth.sessions.open(claims), secure=True, httponly=True, path="/"
        )
        return response

    async def _show_requests(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "requests": [record.to_json() for record in self.requests.records()],
                "per_path": dict(self.requests.per_path()),
            }
        )

    async def _clear_requests(self, _request: web.Request) -> web.Response:
        self.requests.clear()
        return web.json_response({"requests": [], "per_path": {}})

    async def _show_faults(self, _request: web.Request) -> web.Response:
        return web.json_response(self.faults.to_json(time.monotonic()))

    async def _clear_faults(self, _request: web.Request) -> web.Response:
        self.faults.clear()
        return web.json_response(self.faults.to_json(time.monotonic()))

    async def _add_fault(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ConfigError("POST /simulator/faults: body must be a JSON object")
            self.apply(body, where="POST /simulator/faults")
        except ValueError:
            return web.json_response({"error": "POST /simulator/faults: body is not JSON"}, status=400)
        except ConfigError as err:
            return web.json_response({"error": str(err)}, status=400)
        return web.json_response(self.faults.to_json(time.monotonic()))

    def apply(self, body: dict[str, Any], *, where: str) -> None:
        """A fault or an action (reboot, revoke, nightly_gap) in its JSON form."""
        kind = body.get("kind")
        if kind == ActionKind.REBOOT:
            duration = body.get("duration_s", DEFAULT_REBOOT_S)
            if not isinstance(duration, int | float) or isinstance(duration, bool) or duration <= 0:
                raise ConfigError(f"{where} field 'duration_s': must be a number > 0")
            self.reboot(float(duration))
        elif kind == ActionKind.REVOKE:
            jti = body.get("jti")
            self.auth.revoke(str(jti) if jti is not None else None)
        elif kind == ActionKind.NIGHTLY_GAP:
            self.faults.nightly_gap = bool(body.get("enabled", True))
        else:
            self.faults.add(Fault.from_json(body, where=where))


@dataclass(slots=True)
class Simulator:
    """A running simulated gateway and its cloud, as tests, the demo and ``simulate`` use them."""

    source: DocumentSource
    gateway: Gateway
    cloud: FakeCloud
    gateway_url: str
    cloud_url: str
    host: str

    @property
    def serial(self) -> str:
        return self.source.serial

    @property
    def faults(self) -> FaultSet:
        return self.gateway.faults

    @property
    def requests(self) -> RequestLog:
        return self.gateway.requests

    @property
    def authority(self) -> TokenAuthority:
        return self.gateway.auth.authority

    def issue_token(
        self,
        *,
        user_type: str = "owner",
        username: str = "owner@example.com",
        lifetime_s: int | None = None,
        serial: str | None = None,
    ) -> str:
        return self.authority.issue(
            serial=self.serial if serial is None else serial,
            user_type=user_type,
            username=username,
            lifetime_s=self.cloud.token_lifetime_s if lifetime_s is None else lifetime_s,
        )

    def reboot(self, duration_s: float) -> None:
        self.gateway.reboot(duration_s)

    def revoke_tokens(self, jti: str | None = None) -> None:
        self.gateway.auth.revoke(jti)


async def _start(
    app: web.Application, host: str, port: int, ssl_context: ssl.SSLContext | None
) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
    try:
        await site.start()
    except OSError as err:
        await runner.cleanup()
        raise ConfigError(f"cannot listen on {host}:{port}: {err.strerror or err}") from err
    return runner, int(runner.addresses[0][1])


@contextlib.asynccontextmanager
async def run_simulator(
    source: DocumentSource,
    *,
    listen: str = "127.0.0.1:0",
    cloud_listen: str = "127.0.0.1:0",
    ssl_context: ssl.SSLContext | None = None,
    token_lifetime_s: int | None = None,
    accounts: Sequence[CloudAccount] = DEFAULT_ACCOUNTS,
    faults: Sequence[Fault] = (),
    nightly_gap: bool = False,
    latency: LatencyProfile | None = None,
) -> AsyncIterator[Simulator]:
    """Serve ``source`` as a gateway over HTTPS and a fake cloud over HTTP until the block exits."""
    host, port = parse_listen(listen, flag="--listen")
    cloud_host, cloud_port = parse_listen(cloud_listen, flag="--cloud-listen")
    authority = TokenAuthority()
    fault_set = FaultSet(nightly_gap=nightly_gap)
    fault_set.extend(faults)
    gateway = Gateway(
        source=source,
        auth=GatewayAuth(serial=source.serial, authority=authority, sessions=SessionStore()),
        faults=fault_set,
        requests=RequestLog(),
        latency=latency,
    )
    cloud = FakeCloud(
        authority=authority, serials={source.serial}, accounts=accounts, token_lifetime_s=token_lifetime_s
    )
    context = ssl_context or server_ssl_context(common_name=host)
    gateway_runner, port = await _start(gateway.app(), host, port, context)
    try:
        cloud_runner, cloud_port = await _start(cloud.app(), cloud_host, cloud_port, None)
    except BaseException:
        await gateway_runner.cleanup()
        raise
    try:
        yield Simulator(
            source=source,
            gateway=gateway,
            cloud=cloud,
            gateway_url=f"https://{host}:{port}",
            cloud_url=f"http://{cloud_host}:{cloud_port}",
            host=f"{host}:{port}",
        )
    finally:
        gateway.closing.set()
        await cloud_runner.cleanup()
        await gateway_runner.cleanup()
