"""learnprog.web: the pages behind the links in learnprog's emails (extra ``web``).

:func:`create_app` returns an ASGI app (Starlette) for a host to serve or mount at
``Settings.base_url``; :mod:`learnprog.web.handlers` holds the framework-neutral handlers it
serves, one per link, for hosts on another framework. See docs/howto-web.md.

``create_app`` needs Starlette (``pip install 'learnprog[web]'``); it is imported when first
used, so the handlers import without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from learnprog.web.handlers import (
    CsrfGuard,
    Site,
    WebRequest,
    WebResponse,
    accept_invitation,
    download_gradebook,
    download_report,
    email_preferences,
    error_status,
    program_page,
    safe_return_path,
    unsubscribe,
)

if TYPE_CHECKING:
    from learnprog.web.app import create_app


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from learnprog.web.app import create_app

        return create_app
    raise AttributeError(f"module 'learnprog.web' has no attribute {name!r}")


__all__ = [
    "CsrfGuard",
    "Site",
    "WebRequest",
    "WebResponse",
    "accept_invitation",
    "create_app",
    "download_gradebook",
    "download_report",
    "email_preferences",
    "error_status",
    "program_page",
    "safe_return_path",
    "unsubscribe",
]
