"""Who may drive the server, and how much a request may send: the ASGI middleware in front of
every route (see `guard`). The server is driven only by its own page and the user's scripts.
"""

import hmac
from urllib.parse import parse_qs

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from mnist_nn.errors import shown

MAX_BODY_BYTES = 5 * 1024 * 1024  # an upload larger than this is refused (413)


class BodyTooLarge(HTTPException):
    def __init__(self):
        super().__init__(413, f"the request is larger than {MAX_BODY_BYTES // 2**20} MB")


STATE_CHANGING = {"POST", "PATCH", "PUT", "DELETE"}
TOKEN_COOKIE = "mnist_nn_token"


def guard(app, allowed_hosts=None, token: str | None = None):
    """ASGI middleware: who may drive this server, and how much a request may send.

    - A Host header not in `allowed_hosts` (when given) is refused: a page on another site cannot
      reach this server through a name that points here (DNS rebinding).
    - A request that changes something (POST, PATCH) sent by a page of another site is refused
      (403): browsers say so in `Origin` and `Sec-Fetch-Site`. Scripts (curl, Python) send
      neither and keep working. JSON bodies must be declared `application/json` (415 otherwise,
      see train_routes.py), which a page of another site cannot send without asking first.
    - With a `token` (beyond localhost), every request must carry it: `?token=` once (the
      address `mnist-nn serve` prints; the page then keeps it in a same-site cookie), or an
      `Authorization: token ...` header.
    - Bodies over MAX_BODY_BYTES are refused, by header or while they stream in.
    """

    async def refuse(status: int, message: str, scope, receive, send):
        return await JSONResponse({"error": message}, status_code=status)(scope, receive, send)

    async def middleware(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"").decode("latin-1")
        if allowed_hosts is not None:
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name.strip("[]") not in allowed_hosts:
                message = f"this server does not answer for host {shown(name)}"
                return await refuse(400, message, scope, receive, send)
        if scope["method"] in STATE_CHANGING:
            problem = foreign_site(headers, f"{scope.get('scheme', 'http')}://{host}")
            if problem:
                return await refuse(403, problem, scope, receive, send)
        given = None
        if token is not None:
            given = presented_token(scope, headers)
            if given is None or not same_token(given, token):
                message = (
                    "this server needs its token: open the address `mnist-nn serve` printed "
                    "(ending in ?token=...), or send the header Authorization: token ..."
                )
                return await refuse(403, message, scope, receive, send)
        length = headers.get(b"content-length", b"0")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            return await refuse(413, BodyTooLarge().detail, scope, receive, send)
        received = 0

        async def counted_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > MAX_BODY_BYTES:
                raise BodyTooLarge()
            return message

        async def send_with_cookie(message):
            # The page was opened with ?token=: keep it in a cookie that only this site's own
            # requests carry (SameSite=Strict), so its fetches and event streams need no code.
            if message["type"] == "http.response.start" and b"token=" in scope["query_string"]:
                cookie = f"{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
                headers = [*message["headers"], (b"set-cookie", cookie.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            return await app(scope, counted_receive, send_with_cookie if given else send)
        except ClientDisconnect:  # gone, or closed to make room for others: no one to answer
            return None

    return middleware


def same_token(given: str, token: str) -> bool:
    """Whether a request's token is the server's, compared in constant time. Compared as bytes:
    a token sent with characters beyond ASCII (in a query, a header or a cookie) is just wrong."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8"))


def foreign_site(headers: dict, own_origin: str) -> str | None:
    """Why a request comes from a page of another site (None if it does not, or if it comes
    from no page at all: a script sends neither header)."""
    origin = headers.get(b"origin", b"").decode("latin-1")
    if origin and origin != own_origin:
        return f"refused: a request from another site ({origin}) may not drive this server"
    fetch_site = headers.get(b"sec-fetch-site", b"").decode("latin-1")
    if fetch_site and fetch_site not in ("same-origin", "none"):
        return f"refused: a {fetch_site} request may not drive this server"
    return None


def presented_token(scope, headers: dict) -> str | None:
    """The token a request carries: ?token=, an Authorization header, or the page's cookie."""
    query = parse_qs(scope["query_string"].decode("latin-1"))
    if query.get("token"):
        return query["token"][0]
    authorization = headers.get(b"authorization", b"").decode("latin-1").split()
    if len(authorization) == 2 and authorization[0].lower() in ("token", "bearer"):
        return authorization[1]
    for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
        name, _, value = part.strip().partition("=")
        if name == TOKEN_COOKIE:
            return value
    return None
