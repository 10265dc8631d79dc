"""What every ``/api`` request must show before the app reads it: same origin, bounded body, a free slot.

The server is a local tool on the loopback address. The Host check (DNS rebinding)
cannot stop another web site the user visits from making the browser call it: the Host
really is 127.0.0.1, and an upload id is a content hash an attacker can compute. So:

- **Same origin.** An ``/api`` request is answered only when it carries the header
  ``X-Wstag`` (the page's ``fetch`` calls send it; a cross-site page cannot send it
  without a CORS pre-flight, which this server never grants), or when the browser says
  it comes from the page itself (``Sec-Fetch-Site: same-origin``: the page's ``<img>``
  and ``<audio>``). A browser that says ``cross-site`` or ``same-site`` is refused even
  with the header. Scripts (curl, Python) add the header.
- **Bounded bodies.** Bytes are counted as they arrive, whether or not the client sent
  ``Content-Length`` (a chunked upload sends none), and the request is answered 413 at
  the limit instead of being spooled to disk without end.
- **Bounded load.** At most ``max_waiting`` requests to the model routes are in the
  server at once; the next is answered 503 with ``Retry-After`` at once instead of
  holding a worker thread and its bytes while it waits.

Written as plain ASGI (not Starlette's ``BaseHTTPMiddleware``) so that the body can be
counted on its way in and a refusal sent before the app parses anything.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Awaitable, Callable, Mapping

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: the header that proves a request comes from the page (or a script), not from another site
ORIGIN_HEADER = "x-wstag"
#: Sec-Fetch-Site values a browser sends for requests the page itself makes
SAME_ORIGIN = {b"same-origin"}
FOREIGN = {b"cross-site", b"same-site"}


async def _answer(send: Send, status: int, detail: str, headers: Mapping[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *extra]})
    await send({"type": "http.response.body", "body": body})


async def _drain(receive: Receive) -> None:
    """Read what is left of a refused request's body, so the connection can answer cleanly."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return


def host_name(host: str) -> str:
    """A Host header (or an address) without its port, lower case: ``[::1]:8000`` -> ``::1``, ``a:80`` -> ``a``."""
    host = host.strip().lower()
    if host.startswith("["):  # an IPv6 literal: the port follows the bracket
        return host[1:host.find("]")] if "]" in host else host[1:]
    if host.count(":") > 1:  # a bare IPv6 address (from the command line), no port
        return host
    return host.split(":", 1)[0]


def same_origin(headers: Mapping[bytes, bytes]) -> str | None:
    """None when a request may be answered; otherwise the one line that refuses it."""
    site = headers.get(b"sec-fetch-site")
    if site in FOREIGN:
        return f"refused: a request from another site ({site.decode()}); use the page this server serves"
    if ORIGIN_HEADER.encode() in headers or site in SAME_ORIGIN:
        return None
    return (f"refused: /api requests must come from the page or carry the header '{ORIGIN_HEADER}: 1' "
            f"(it keeps other web sites from using this server)")


class RequestGuard:
    """ASGI middleware: same origin on ``/api``, byte-counted bodies, and a bound on waiting requests.

    ``body_limits`` maps a path to its largest body in bytes (others: ``default_body``), stated
    in refusals; ``body_slack`` adds room that is allowed but not stated (a multipart frame);
    ``model_routes`` are the paths that wait for the model, at most ``max_waiting`` at once.
    """

    def __init__(self, app, *, body_limits: Mapping[str, int], body_slack: Mapping[str, int] | None = None,
                 default_body: int = 64_000,
                 model_routes: frozenset[str] = frozenset(), max_waiting: int = 8, retry_after: int = 2,
                 allowed_hosts: list[str] | None = None) -> None:
        self.app = app
        self.allowed_hosts = None if allowed_hosts is None else {host_name(h) for h in allowed_hosts}
        self.body_limits = dict(body_limits)
        self.body_slack = dict(body_slack or {})
        self.default_body = default_body
        self.model_routes = model_routes
        self.max_waiting = max_waiting
        self.retry_after = retry_after
        self._waiting = 0
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if self.allowed_hosts is not None:  # DNS rebinding: a foreign name that resolves to this machine
            host = host_name(headers.get(b"host", b"").decode("latin-1"))
            if host not in self.allowed_hosts:
                await _drain(receive)
                await _answer(send, 400, f"refused: unknown Host {host!r}")
                return
        if not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        refusal = same_origin(headers)
        if refusal:
            await _drain(receive)
            await _answer(send, 403, refusal)
            return
        limit = self.body_limits.get(scope["path"], self.default_body)
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit + self.body_slack.get(scope["path"], 0):
            await _answer(send, 413, _too_large(int(declared), limit))  # before any byte is read
            return
        if scope["path"] in self.model_routes:
            with self._lock:
                full = self._waiting >= self.max_waiting
                if not full:
                    self._waiting += 1
            if full:
                await _drain(receive)
                await _answer(send, 503, f"busy: {self.max_waiting} requests are waiting for the model; "
                                         f"try again in a moment", {"Retry-After": str(self.retry_after)})
                return
            try:
                await self._counted(scope, receive, send, limit, self.body_slack.get(scope["path"], 0))
            finally:
                with self._lock:
                    self._waiting -= 1
            return
        await self._counted(scope, receive, send, limit, self.body_slack.get(scope["path"], 0))

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int, slack: int) -> None:
        """Run the app with the body counted; past ``limit + slack`` bytes, answer 413 whatever the app says."""
        state = {"received": 0, "over": False, "started": False}

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit + slack:
                    state["over"] = True
                    # the app sees the end of an (incomplete) body and fails to parse it; its answer is replaced
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def guarded_send(message: Message) -> None:
            if not state["over"]:
                await send(message)
                return
            if message["type"] == "http.response.start" and not state["started"]:
                state["started"] = True
                await _answer(send, 413, _too_large(state["received"], limit, counted=True))

        await self.app(scope, counting_receive, guarded_send)


def _too_large(size: int, limit: int, counted: bool = False) -> str:
    what = f"more than {megabytes(limit)} arrived" if counted else f"the request body is {megabytes(size)}"
    return f"{what}, over the limit of {megabytes(limit)}"


def megabytes(n: int) -> str:
    """``20 MB``, ``0.185 MB``: three significant digits."""
    return f"{n / 1e6:.3g} MB"
