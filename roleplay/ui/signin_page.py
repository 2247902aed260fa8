"""Gradio's sign-in page in team mode: the client's address for the check, and why a sign-in was refused.

Gradio's login page posts the form to ``/login`` and, on a 400, shows only its own "Incorrect
credentials", whatever the answer's ``detail`` says; on a 200 it reloads itself, and the page it
loads shows the app's ``auth_message``. So a throttled or disabled account would never learn why.
``SignInPage``, an ASGI middleware in front of Gradio, makes the page say it:

- While a request is handled it keeps an ``Attempt`` at hand: the client's address, which the
  sign-in check reads, and a slot where the check puts its refusal ("Too many failed sign-ins…",
  "This account is disabled…"); a plain wrong password leaves the slot empty.
- When a refused ``/login`` comes from a page of the app in a browser (``Sec-Fetch-Site:
  same-origin``, a header no page's script can set), Gradio's 400 becomes a 200
  ``{"success": false, "detail": …}`` that sets no session, only a short-lived cookie with the
  reason. The page reloads, and the middleware puts the reason, escaped, above the ``auth_message``
  of the login page it loads, then clears the cookie. Other clients (``gradio_client``, scripts)
  still get Gradio's 400 with the reason as ``detail``.
"""

from __future__ import annotations

import contextvars
import html
import json
import logging
import re
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import quote, unquote

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

#: The cookie that carries a refusal from the refused ``/login`` to the login page it reloads.
REFUSAL_COOKIE = "pushback-signin-refusal"
#: Long enough for the page to reload, short enough not to greet a later visit.
REFUSAL_COOKIE_SECONDS = 60
#: The longest reason the page shows (the cookie is the browser's, so it is bounded and escaped).
MAX_REASON = 200
#: Where Gradio's page template puts its config (``frontend/index.html``).
_CONFIG = re.compile(r"(window\.gradio_config = )(.*?)(;</script>)", re.DOTALL)


@dataclass
class Attempt:
    """What a request's sign-in check needs and says: the client's address, and its refusal."""

    address: str | None
    refusal: str | None = None


_attempt: contextvars.ContextVar[Attempt | None] = contextvars.ContextVar("sign_in_attempt", default=None)


def current_attempt() -> Attempt:
    """The request's ``Attempt`` (a detached one outside ``SignInPage``, e.g. a direct call)."""
    return _attempt.get() or Attempt(address=None)


class SignInPage:
    """ASGI middleware: the client's address for the sign-in check, and the refusal on Gradio's page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        attempt = Attempt(address=client[0] if client else None)
        token = _attempt.set(attempt)
        try:
            path, headers = scope["path"].rstrip("/"), Headers(scope=scope)
            if scope["method"] == "POST" and path == "/login" and headers.get("sec-fetch-site") == "same-origin":
                await self.app(scope, receive, _refusal_for_the_page(attempt, scope, receive, send))
            elif scope["method"] == "GET" and path == "" and REFUSAL_COOKIE in headers.get("cookie", ""):
                await self.app(scope, receive, _page_with_refusal(_cookie(headers), send))
            else:
                await self.app(scope, receive, send)
        finally:
            _attempt.reset(token)


def _cookie(headers: Headers) -> str:
    """The refusal the cookie carries, bounded."""
    morsel = SimpleCookie(headers.get("cookie", "")).get(REFUSAL_COOKIE)
    return unquote(morsel.value)[:MAX_REASON] if morsel else ""


def _refusal_for_the_page(attempt: Attempt, scope: Scope, receive: Receive, send: Send) -> Send:
    """A ``send`` that turns Gradio's 400 for a refused sign-in into the 200 the page reloads on."""
    replaced = False

    async def send_refusal(message: Message) -> None:
        nonlocal replaced
        if message["type"] == "http.response.start" and message["status"] == 400 and attempt.refusal:
            replaced = True
            answer = JSONResponse({"success": False, "detail": attempt.refusal})
            answer.set_cookie(REFUSAL_COOKIE, quote(attempt.refusal), max_age=REFUSAL_COOKIE_SECONDS,
                              httponly=True, samesite="strict")
            await answer(scope, receive, send)
        elif not replaced:  # Gradio's own answer, or the rest of it once replaced: dropped
            await send(message)

    return send_refusal


def _page_with_refusal(reason: str, send: Send) -> Send:
    """A ``send`` that shows ``reason`` on Gradio's login page and clears the cookie."""
    start: Message | None = None
    body = b""

    async def send_page(message: Message) -> None:
        nonlocal start, body
        if message["type"] == "http.response.start":
            start = message
            return
        if start is None or message["type"] != "http.response.body":
            await send(message)
            return
        body += message.get("body", b"")
        if message.get("more_body", False):
            return
        headers = MutableHeaders(raw=list(start["headers"]))
        plain = start["status"] == 200 and "content-encoding" not in headers and reason
        page = _with_reason(body.decode("utf-8"), reason) if plain else None
        headers.append("set-cookie", f"{REFUSAL_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=strict")
        if page is not None:
            body = page.encode("utf-8")
            headers["content-length"] = str(len(body))
        await send({**start, "headers": headers.raw})
        await send({"type": "http.response.body", "body": body})

    return send_page


def _with_reason(page: str, reason: str) -> str | None:
    """Gradio's login page with ``reason`` above its message; ``None`` when ``page`` is no login page."""
    found = _CONFIG.search(page)
    if not found:
        log.warning("the sign-in refusal is not shown: no gradio_config in the page (has Gradio's template changed?)")
        return None
    config = json.loads(found.group(2))
    if not config.get("auth_required"):  # signed in meanwhile (another tab): nothing to explain
        return None
    config["auth_message"] = f"<p><strong>{html.escape(reason)}</strong></p>{config.get('auth_message') or ''}"
    # escaped as Gradio's ``toorjson`` does, so nothing in it can close the script
    encoded = (json.dumps(config, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
               .replace("&", "\\u0026").replace("'", "\\u0027"))
    return page[:found.start(2)] + encoded + page[found.end(2):]
