"""The Starlette app serving the links in learnprog's emails (:func:`create_app`)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Message

from learnprog.bootstrap import Learnprog
from learnprog.errors import ValidationError
from learnprog.web import handlers
from learnprog.web.handlers import Site, WebRequest, WebResponse

Identify = Callable[[Request], "str | Awaitable[str | None] | None"]
"""The host's sign-in: the signed-in person's email for a request, or None."""

Handler = Callable[..., WebResponse]


def create_app(
    lp: Learnprog,
    *,
    identify: Identify,
    sign_in_url: str = "/sign-in",
    return_parameter: str = "next",
    prefix: str = "",
    secure_cookies: bool | None = None,
) -> Starlette:
    """Return an ASGI app (Starlette) serving the links learnprog puts in its emails.

    Routes (under ``prefix``), each a handler of :mod:`learnprog.web.handlers`:
    ``GET``/``POST /programs/{slug}``, ``GET /programs/{slug}/accept?token=...``,
    ``GET``/``POST /email/unsubscribe?token=...`` (RFC 8058),
    ``GET``/``POST /email/preferences?organization=...``, ``GET /reports/download?token=...``,
    ``GET /reports/gradebook?token=...``, and ``/static/`` (the pages' stylesheet, shipped in
    the package). Serve it at ``Settings.base_url``: at its root, mounted in a host app at
    its path (``Mount("/learning", app)``, ``app.mount(...)`` in FastAPI, a2wsgi in a WSGI
    host), or, where a host cannot mount, with that path as ``prefix``.

    A ``POST`` body over :data:`MAX_FORM_BYTES` is a 413 page, refused before it is read
    further (with or without ``Content-Length``); a form carrying a file part is a 400 (no
    page takes files, and Starlette would spool them to disk).

    learnprog's calls are synchronous: each runs in Starlette's thread pool, so several
    requests at once share the instance (one per process), each call in its own unit of work.

    Args:
        lp: the learnprog instance; its ``Settings.secret_key`` signs the CSRF tokens too
            (with a key derived for them alone).
        identify: the host's sign-in, ``identify(request) -> email | None`` (a plain or an
            ``async`` function); learnprog stores no passwords.
        sign_in_url: where a page sends a person nobody signed in, with
            ``?<return_parameter>=<relative path of the page>``; the host's sign-in page
            sends them back there through :func:`~learnprog.web.safe_return_path`.
        return_parameter: the name of that parameter.
        prefix: a path every route starts with (``/learning``), ``""`` by default; it starts
            with ``/`` and does not end with one.
        secure_cookies: mark the CSRF cookie ``Secure``; default: when ``base_url`` is https.

    Returns:
        The Starlette app.

    Raises:
        ValidationError: a ``prefix`` that is not ``""`` or ``/path``; a blank
            ``sign_in_url``; a ``return_parameter`` that is not a name; ``identify`` not
            callable.
    """
    if not isinstance(prefix, str) or (
        prefix and (not prefix.startswith("/") or prefix.endswith("/") or "//" in prefix)
    ):
        raise ValidationError(
            "a prefix is '' or a path such as /learning", field="prefix", value=prefix
        )
    if not callable(identify):
        raise ValidationError("identify is a function of the request", field="identify")
    site = Site(
        lp,
        sign_in_url=sign_in_url,
        return_parameter=return_parameter,
        secure_cookies=secure_cookies,
    )

    def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def serve(request: Request) -> Response:
            email = identify(request)
            if inspect.isawaitable(email):
                email = await email
            form: dict[str, str] = {}
            body = await _read_body(request) if request.method == "POST" else b""
            if body is None:
                return _too_large(site, request, prefix)
            if body:
                async with _replayed(request, body).form(max_files=0) as fields:
                    for name, value in fields.multi_items():
                        if not isinstance(value, UploadFile) and name not in form:
                            form[name] = value
            web_request = WebRequest(
                method=request.method,
                path=_route_path(request)[len(prefix) :],
                query=dict(request.query_params),
                form=form,
                cookies=dict(request.cookies),
                email=email if isinstance(email, str) and email else None,
                root_path=request.scope.get("root_path", "") + prefix,
            )
            answer = await run_in_threadpool(handler, site, web_request, **request.path_params)
            return Response(answer.body, answer.status, dict(answer.headers))

        return serve

    routes: list[BaseRoute] = [
        Route(
            f"{prefix}/programs/{{slug}}",
            endpoint(handlers.program_page),
            methods=["GET", "POST"],
        ),
        Route(
            f"{prefix}/programs/{{slug}}/accept",
            endpoint(handlers.accept_invitation),
            methods=["GET"],
        ),
        Route(
            f"{prefix}/email/unsubscribe",
            endpoint(handlers.unsubscribe),
            methods=["GET", "POST"],
        ),
        Route(
            f"{prefix}/email/preferences",
            endpoint(handlers.email_preferences),
            methods=["GET", "POST"],
        ),
        Route(f"{prefix}/reports/download", endpoint(handlers.download_report), methods=["GET"]),
        Route(
            f"{prefix}/reports/gradebook", endpoint(handlers.download_gradebook), methods=["GET"]
        ),
        Mount(
            f"{prefix}/static",
            app=StaticFiles(packages=[("learnprog.web", "static")]),
            name="static",
        ),
    ]
    return Starlette(routes=routes)


MAX_FORM_BYTES = 64 * 1024
"""The largest POST body read (bytes): the pages' forms send a token and a few fields, and a
one-click unsubscribe ``List-Unsubscribe=One-Click``; anything larger is a 413 unread."""


async def _read_body(request: Request) -> bytes | None:
    """The POST body, or None when it is over :data:`MAX_FORM_BYTES` (reading stops there)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    return bytes(body)


def _replayed(request: Request, body: bytes) -> Request:
    """A request over the same scope whose body is ``body``, already read."""

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


def _too_large(site: Site, request: Request, prefix: str) -> Response:
    """The 413 page for a body over :data:`MAX_FORM_BYTES` (RFC 9110 section 15.5.14)."""
    root = request.scope.get("root_path", "") + prefix
    answer = site.page(
        "message.html",
        WebRequest(method=request.method, path="/", root_path=root),
        status=413,
        title="Content Too Large",
        message=f"the request's body is over {MAX_FORM_BYTES} bytes: nothing was read or changed",
        kind="error",
        next_url=None,
        next_label="",
    )
    return Response(answer.body, answer.status, dict(answer.headers) | {"Connection": "close"})


def _route_path(request: Request) -> str:
    """The request's path inside the app: without the ``root_path`` it is mounted at."""
    path: str = request.scope["path"]
    root: str = request.scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :]
    return path
