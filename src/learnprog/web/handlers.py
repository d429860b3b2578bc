"""Framework-neutral handlers for the links in learnprog's emails: request data in, response out.

One function per link learnprog builds on ``Settings.base_url``; each takes the :class:`Site`
(the learnprog instance and what the pages share) and a :class:`WebRequest`, and returns a
:class:`WebResponse` (status, headers, body). :func:`learnprog.web.create_app` serves them with
Starlette; a host on another framework calls them from its own routes.

| link | handler |
|---|---|
| ``/programs/<slug>`` (GET page, POST join) | :func:`program_page` |
| ``/programs/<slug>/accept?token=...`` | :func:`accept_invitation` |
| ``/email/unsubscribe?token=...`` (GET confirm, POST one-click) | :func:`unsubscribe` |
| ``/email/preferences?organization=...`` (GET page, POST save) | :func:`email_preferences` |
| ``/reports/download?token=...`` | :func:`download_report` |
| ``/reports/gradebook?token=...`` | :func:`download_gradebook` |

Errors become pages carrying the typed error's message (never a traceback), with the status of
:func:`error_status`. Sources: RFC 8058 (one-click unsubscribe), the guide's "Coursera Email
Settings" (categories a learner may stop), "Accessing Email Reports" and "Accessing Gradebooks"
(download links for the signed-in admin), OWASP's CSRF cheat sheet (signed double-submit cookie).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Mapping
from datetime import timedelta
from hashlib import sha256
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import jinja2
from attrs import field, frozen
from itsdangerous import BadSignature, URLSafeTimedSerializer

from learnprog.bootstrap import Learnprog
from learnprog.errors import (
    ConcurrencyError,
    ConflictError,
    ExpiredTokenError,
    InvalidTokenError,
    InvitationRevokedError,
    LearnprogError,
    NotFoundError,
    PermissionDeniedError,
    StorageUnavailableError,
    ValidationError,
)
from learnprog.mail.rendering import DEFAULT_BRAND_COLOR
from learnprog.model.access import Actor, SystemActor
from learnprog.model.learner import MemberState
from learnprog.model.mail import MessageCategory
from learnprog.model.organization import Organization

SYSTEM = SystemActor()

CSRF_COOKIE = "learnprog_csrf"
"""The cookie holding the random half of the signed double-submit CSRF token."""
CSRF_FIELD = "csrf_token"
"""The form field holding the signed half."""
CSRF_LIFETIME = timedelta(hours=12)
"""How long a page's form may stay open before sending it needs a reload."""
ONE_CLICK_FIELD = "List-Unsubscribe"
ONE_CLICK_VALUE = "One-Click"
"""RFC 8058 section 3.1: the one-click POST's body is ``List-Unsubscribe=One-Click``."""

_CATEGORY_TEXT = {
    MessageCategory.TRANSACTIONAL: (
        "Invitations and membership",
        "Invitations and news of your membership; always sent.",
    ),
    MessageCategory.ANNOUNCEMENT: (
        "Program announcements",
        "Welcome emails for programs, courses and specializations, and deadlines.",
    ),
    MessageCategory.ADMIN: (
        "Messages from administrators",
        "Reminders and messages your program's administrators write.",
    ),
}


@frozen
class WebRequest:
    """What a handler reads from one HTTP request.

    Attributes:
        method: ``GET``, ``HEAD`` or ``POST``.
        path: the path inside the app (``/programs/data-academy/accept``), decoded, without
            the prefix it is mounted at.
        query: the query parameters, the first value of each.
        form: the fields of a POST body (``application/x-www-form-urlencoded`` or
            ``multipart/form-data``); empty for a GET.
        cookies: the request's cookies.
        email: the signed-in person's address, from the host's sign-in, or ``None``.
        root_path: the path the app is mounted at (``""`` or ``/learning``): every link and
            redirect a page makes starts with it.
    """

    method: str
    path: str
    query: Mapping[str, str] = field(factory=dict)
    form: Mapping[str, str] = field(factory=dict)
    cookies: Mapping[str, str] = field(factory=dict)
    email: str | None = None
    root_path: str = ""

    @property
    def return_path(self) -> str:
        """This request's page as a path on this site, to come back to after signing in."""
        query = {k: v for k, v in self.query.items() if k != "saved"}
        path = quote(self.root_path + self.path, safe="/:@!$&'()*+,;=-._~")
        return safe_return_path(path + (f"?{urlencode(query)}" if query else ""))


@frozen
class WebResponse:
    """What a handler answers.

    Attributes:
        status: the HTTP status code.
        body: the body's bytes (UTF-8 HTML for pages, a zip for downloads).
        headers: response headers, name -> value (``Content-Type``, ``Location``,
            ``Set-Cookie`` ...).
    """

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(factory=dict)

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (pages)."""
        return self.body.decode("utf-8")


def safe_return_path(value: object, *, default: str = "/") -> str:
    r"""Return ``value`` if it is a path on this site, else ``default``: no open redirect.

    A sign-in page that sends the person back to a return path must use only this (OWASP,
    "Unvalidated Redirects and Forwards"): the value is kept only when it is text of at most
    2,000 printable ASCII characters starting with a single ``/``, without ``\`` (browsers
    read ``/\evil.example`` as ``//evil.example``), and naming no scheme or host
    (RFC 3986 section 4.2: ``//evil.example`` is a network-path reference).

    Args:
        value: the return path as received (a query parameter of the sign-in page).
        default: what to use instead (a path on the site).

    Returns:
        ``value`` or ``default``.
    """
    if not isinstance(value, str) or not value or len(value) > 2000:
        return default
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(not 0x21 <= ord(ch) <= 0x7E for ch in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


class CsrfGuard:
    """Signed double-submit CSRF tokens (OWASP CSRF cheat sheet), signed with itsdangerous.

    A page with a form sets the cookie :data:`CSRF_COOKIE` to a random value (when the
    browser has none) and puts ``sign(value)`` in the form's :data:`CSRF_FIELD`. A POST passes
    only when the field's signature holds, is at most :data:`CSRF_LIFETIME` old and names the
    cookie's value and the signed-in person the page was made for: another site can make the
    browser send the cookie but can neither read it nor sign a value, and a token it obtained
    for itself (its own page view, with a cookie it then plants on a sibling subdomain: cookie
    tossing) names another person, so it fails too (OWASP: bind the token to the session).
    The key is derived from ``Settings.secret_key`` for this purpose alone
    (HMAC-SHA256), so a CSRF token never verifies as a link token or the reverse.

    Args:
        secret_key: the instance's signing secret (``Settings.secret_key``).
    """

    def __init__(self, secret_key: str) -> None:
        key = hmac.new(secret_key.encode("utf-8"), b"learnprog.web.csrf", sha256).hexdigest()
        self._serializer = URLSafeTimedSerializer(key, salt="learnprog.web.csrf")

    def token(self, request: WebRequest) -> tuple[str, str | None]:
        """Return the form token for ``request`` and the cookie value to set, if new.

        Returns:
            ``(form_token, cookie)``: ``cookie`` is ``None`` when the request's cookie is
            kept, else the new value to set.
        """
        cookie = request.cookies.get(CSRF_COOKIE)
        new = None
        if not cookie or len(cookie) > 100:
            cookie = new = secrets.token_urlsafe(32)
        return str(self._serializer.dumps([cookie, _person(request)])), new

    def check(self, request: WebRequest) -> None:
        """Raise unless the POST's form token matches its cookie.

        Raises:
            PermissionDeniedError: no cookie, no token, a forged or older than 12 hours token,
                or one made for another cookie (a cross-site request) or for another
                signed-in person (another user's token, or nobody's).
        """
        cookie = request.cookies.get(CSRF_COOKIE, "")
        sent = request.form.get(CSRF_FIELD, "")
        try:
            signed = self._serializer.loads(sent, max_age=int(CSRF_LIFETIME.total_seconds()))
        except BadSignature as exc:
            raise PermissionDeniedError(
                "the form is not valid (its CSRF token is missing, altered or older than "
                "12 hours): reload the page and send it again"
            ) from exc
        if (
            not cookie
            or not isinstance(signed, list)
            or len(signed) != 2
            or not all(isinstance(part, str) for part in signed)
            or not hmac.compare_digest(signed[0].encode(), cookie.encode())
        ):
            raise PermissionDeniedError(
                "the form was not sent from this site's page (CSRF token and cookie differ): "
                "reload the page and send it again"
            )
        if not hmac.compare_digest(signed[1].encode(), _person(request).encode()):
            raise PermissionDeniedError(
                "the form was made for another signed-in person (CSRF token): reload the page "
                "and send it again"
            )


def _person(request: WebRequest) -> str:
    """Who a CSRF token is made for: the signed-in address, case-folded, or ``""``."""
    return (request.email or "").casefold()


class Site:
    """What the handlers share: the learnprog instance, page templates, sign-in and CSRF.

    Args:
        lp: the learnprog instance (its ``Settings.base_url`` is where the app is served).
        sign_in_url: the host's sign-in page; a handler that needs a signed-in person
            redirects there (303) with ``<return_parameter>=<path of the page>``, a
            relative path on this site (see :func:`safe_return_path`).
        return_parameter: the name of that query parameter (default ``next``).
        secure_cookies: mark the CSRF cookie ``Secure``; default: when ``base_url`` is
            ``https``.
    """

    def __init__(
        self,
        lp: Learnprog,
        *,
        sign_in_url: str = "/sign-in",
        return_parameter: str = "next",
        secure_cookies: bool | None = None,
    ) -> None:
        if not isinstance(sign_in_url, str) or not sign_in_url.strip():
            raise ValidationError("give the sign-in page's URL", field="sign_in_url")
        if any(ord(ch) < 0x21 for ch in sign_in_url):
            raise ValidationError(
                "a URL holds no spaces or control characters", field="sign_in_url"
            )
        if not isinstance(return_parameter, str) or not return_parameter.isidentifier():
            raise ValidationError(
                "a query parameter name of letters, digits and _", field="return_parameter"
            )
        self.lp = lp
        self.sign_in_url = sign_in_url
        self.return_parameter = return_parameter
        settings = lp.context.settings
        self.secure_cookies = (
            settings.base_url.startswith("https://") if secure_cookies is None else secure_cookies
        )
        self.csrf = CsrfGuard(settings.secret_key)
        self._pages = jinja2.Environment(
            loader=jinja2.PackageLoader("learnprog.web", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def sign_in(self, request: WebRequest) -> WebResponse:
        """A 303 to the sign-in page, with this page as the return path."""
        separator = "&" if "?" in self.sign_in_url else "?"
        query = urlencode({self.return_parameter: request.return_path})
        return WebResponse(303, headers={"Location": f"{self.sign_in_url}{separator}{query}"})

    def page(
        self,
        template: str,
        request: WebRequest,
        *,
        status: int = 200,
        organization: Organization | None = None,
        cookie: str | None = None,
        **values: Any,
    ) -> WebResponse:
        """Render a page template into a response with the pages' security headers.

        Every value is HTML-escaped (jinja2 autoescape). The brand colour and logo are the
        organization's (guide, "Branding"), or learnprog's default without one.
        """
        html = self._pages.get_template(template).render(
            root_path=request.root_path,
            organization=organization,
            brand_color=(organization.brand_color if organization else None) or DEFAULT_BRAND_COLOR,
            signed_in=request.email,
            **values,
        )
        headers = dict(PAGE_HEADERS)
        if cookie is not None:
            headers["Set-Cookie"] = self._cookie(cookie, request)
        return WebResponse(status, html.encode("utf-8"), headers)

    def error(
        self, exc: LearnprogError, request: WebRequest, organization: Organization | None = None
    ) -> WebResponse:
        """The page for a typed error: its message, with :func:`error_status`'s status."""
        status = error_status(exc)
        return self.page(
            "message.html",
            request,
            status=status,
            organization=organization,
            title=HTTPStatus(status).phrase,
            message=str(exc),
            kind="error",
            next_url=None,
            next_label="",
        )

    def organization(self, organization_id: str) -> Organization:
        """The organization whose branding a page wears.

        Raises:
            NotFoundError: no such organization.
        """
        return self.lp.organizations.get_organization(SYSTEM, organization_id)

    def _cookie(self, value: str, request: WebRequest) -> str:
        parts = [
            f"{CSRF_COOKIE}={value}",
            f"Path={request.root_path or '/'}",
            "HttpOnly",
            "SameSite=Lax",
            f"Max-Age={int(CSRF_LIFETIME.total_seconds())}",
        ]
        if self.secure_cookies:
            parts.append("Secure")
        return "; ".join(parts)


PAGE_HEADERS: Mapping[str, str] = {
    "Content-Type": "text/html; charset=utf-8",
    # pages carry signed tokens in their URL: no caching, and no Referer to a logo's host
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src http: https:; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
}
"""Headers of every page: no script runs, no other site frames it (clickjacking)."""


def error_status(exc: LearnprogError) -> int:
    """The HTTP status for a typed error on these pages.

    An expired link (:class:`ExpiredTokenError`) or a revoked invitation
    (:class:`InvitationRevokedError`) 410 Gone; any other bad, forged or altered token 400;
    :class:`PermissionDeniedError` 403; :class:`NotFoundError` 404; a concurrent write that
    the services' retries did not get past 503; :class:`ConflictError` (a license limit, a
    duplicate) 409; another :class:`ValidationError` 400; storage that cannot be reached 503.
    """
    checks: tuple[tuple[type[LearnprogError], int], ...] = (
        (ExpiredTokenError, 410),
        (InvitationRevokedError, 410),
        (InvalidTokenError, 400),
        (PermissionDeniedError, 403),
        (NotFoundError, 404),
        (ConcurrencyError, 503),
        (ConflictError, 409),
        (ValidationError, 400),
        (StorageUnavailableError, 503),
    )
    return next((status for kind, status in checks if isinstance(exc, kind)), 500)


def _as_conflict(exc: ValidationError) -> LearnprogError:
    """A state the request cannot change (a contract not running, a program removed): 409."""
    if isinstance(exc, InvalidTokenError):
        return exc
    return ConflictError(str(exc))


def _handled(site: Site, request: WebRequest, work: Callable[[], WebResponse]) -> WebResponse:
    """Run ``work``; a typed error becomes its page."""
    try:
        return work()
    except LearnprogError as exc:
        return site.error(exc, request)


def _learner(site: Site, organization_id: str, email: str) -> Actor | None:
    """The signed-in person as a learner of ``organization_id``, or None without an account."""
    try:
        return site.lp.organizations.resolve_actor(SYSTEM, organization_id, email, as_learner=True)
    except NotFoundError:
        return None


def program_page(site: Site, request: WebRequest, slug: str) -> WebResponse:
    """``GET /programs/<slug>``: the program page; ``POST``: join it (guide, "PROGRAM URL").

    GET shows the program (name, tagline, organization branding) and what the signed-in
    person may do: sign in (nobody signed in), join (an INVITED learner signed in with the
    invited address), or their membership. POST (with the page's CSRF token) calls
    ``lp.invitations.accept_by_sign_in`` and redirects (303) to the page.

    Args:
        site: the shared site.
        request: the request; ``email`` is the signed-in person.
        slug: the program's URL slug.

    Returns:
        200 the page; 303 to the sign-in page (a POST signed out) or back to the page (joined);
        403 a missing or forged CSRF token; 404 no such program, or no invitation for the
        signed-in address; 409 no license left or the contract not running; 410 a revoked
        invitation.
    """

    def work() -> WebResponse:
        program = site.lp.programs.find_program(SYSTEM, slug)
        organization = site.organization(program.organization_id)
        if request.method == "POST":
            site.csrf.check(request)
            if request.email is None:
                return site.sign_in(request)
            learner = _learner(site, organization.id, request.email)
            if learner is None:
                raise NotFoundError("invitation", request.email)
            try:
                site.lp.invitations.accept_by_sign_in(learner, program.slug.value)
            except ValidationError as exc:
                raise _as_conflict(exc) from exc
            location = quote(f"{request.root_path}/programs/{program.slug.value}")
            return WebResponse(303, headers={"Location": location})
        membership = None
        if request.email is not None:
            learner = _learner(site, organization.id, request.email)
            if learner is not None:
                membership = site.lp.invitations.own_membership(learner, program.slug.value)
        csrf_token, cookie = site.csrf.token(request)
        return site.page(
            "program.html",
            request,
            organization=organization,
            cookie=cookie if membership and membership.state is MemberState.INVITED else None,
            title=program.name,
            program={
                "name": program.name,
                "tagline": program.tagline,
                "removed": program.is_removed,
            },
            state=None if membership is None else membership.state.value,
            joined_on=(
                membership.joined_at.date().isoformat()
                if membership is not None and membership.joined_at is not None
                else None
            ),
            action=request.return_path,
            csrf_token=csrf_token,
            sign_in_url=site.sign_in(request).headers["Location"],
            preferences_url=_preferences_path(request, organization.id),
        )

    return _handled(site, request, work)


def accept_invitation(site: Site, request: WebRequest, slug: str) -> WebResponse:
    """``GET /programs/<slug>/accept?token=...``: accept the invitation at once, for its learner.

    A GET changes state here on purpose: the link accepts only for the learner it was sent to,
    signed in with that address (``lp.invitations.accept``), and a link scanner is never
    signed in as the learner. Accepting twice is harmless.

    Returns:
        303 to the program page (accepted); 303 to the sign-in page (nobody signed in);
        400 a forged or altered link, or one for another program; 403 signed in as someone
        else; 409 no license left, or the contract not running; 410 an expired link (90 days)
        or a revoked invitation.
    """

    def work() -> WebResponse:
        token = request.query.get("token", "")
        link = site.lp.invitations.link_holder(SYSTEM, token)
        if link.program.slug.value != slug:
            raise InvalidTokenError("the link is not valid", field="token")
        if request.email is None:
            return site.sign_in(request)
        learner = _learner(site, link.program.organization_id, request.email)
        if learner is None:
            raise PermissionDeniedError(
                f"{request.email} may not accept this invitation: it was sent to another "
                "address; sign in with that one"
            )
        try:
            site.lp.invitations.accept(learner, token)
        except InvalidTokenError:
            raise
        except ValidationError as exc:
            raise _as_conflict(exc) from exc
        location = quote(f"{request.root_path}/programs/{link.program.slug.value}")
        return WebResponse(303, headers={"Location": location})

    return _handled(site, request, work)


def unsubscribe(site: Site, request: WebRequest) -> WebResponse:
    """``/email/unsubscribe?token=...``: RFC 8058 one-click unsubscribe.

    ``POST`` with the body ``List-Unsubscribe=One-Click`` (URL-encoded or multipart, as a mail
    client sends it: no cookie, no sign-in, RFC 8058 section 3.2) applies the opt-out at once
    (``lp.mail.unsubscribe``) and answers 200. ``GET`` changes nothing (mail scanners follow
    links): it shows whom and what the link is for and a button that posts the same body.

    Returns:
        200 the confirmation form (GET) or the done page (POST); 400 a forged or altered link,
        or a POST without ``List-Unsubscribe=One-Click``; 410 a link past a year.
    """

    def work() -> WebResponse:
        token = request.query.get("token", "")
        link = site.lp.mail.unsubscribe_link(SYSTEM, token)
        if request.method == "POST":
            if request.form.get(ONE_CLICK_FIELD) != ONE_CLICK_VALUE:
                raise ValidationError(
                    "a one-click unsubscribe POST carries List-Unsubscribe=One-Click "
                    "(RFC 8058 section 3.1)",
                    field=ONE_CLICK_FIELD,
                    value=request.form.get(ONE_CLICK_FIELD),
                )
            site.lp.mail.unsubscribe(SYSTEM, token)
        label = _CATEGORY_TEXT[link.category][0].lower()
        return site.page(
            "unsubscribe.html",
            request,
            organization=link.organization,
            title="Unsubscribed" if request.method == "POST" else "Unsubscribe",
            done=request.method == "POST",
            email=link.learner.email.address,
            learner_name=link.learner.full_name,
            category_label=label,
            action=request.return_path,
            preferences_url=_preferences_path(request, link.organization.id),
        )

    return _handled(site, request, work)


def email_preferences(site: Site, request: WebRequest) -> WebResponse:
    """``/email/preferences?organization=<id>``: the learner's email preferences.

    Guide, "Coursera Email Settings": a learner chooses which categories of mail they receive;
    transactional mail (invitations, program exits) is always sent. GET shows a checkbox per
    category (``lp.mail.email_preferences``); POST, with the page's CSRF token, stores each
    (``lp.mail.set_email_preference``) and redirects (303) to the page, which says so.

    Returns:
        200 the page; 303 to the sign-in page (nobody signed in) or back to the page (saved);
        400 no ``organization`` parameter; 403 a missing or forged CSRF token; 404 no such
        organization, or no learner account of the signed-in address in it.
    """

    def work() -> WebResponse:
        organization_id = request.query.get("organization", "")
        if not organization_id:
            raise ValidationError("the page needs ?organization=<id>", field="organization")
        organization = site.organization(organization_id)
        if request.method == "POST":
            site.csrf.check(request)
        if request.email is None:
            return site.sign_in(request)
        learner = site.lp.organizations.resolve_actor(
            SYSTEM, organization.id, request.email, as_learner=True
        )
        if request.method == "POST":
            for category in MessageCategory:
                if category.honours_opt_out:
                    receive = request.form.get(category.value) == "on"
                    site.lp.mail.set_email_preference(learner, category, receive=receive)
            # the page's own address, not the request's: an odd or long query would make
            # return_path fall back to "/" and the redirect "/&saved=1"
            saved = f"{_preferences_path(request, organization.id)}&saved=1"
            return WebResponse(303, headers={"Location": saved})
        preferences = site.lp.mail.email_preferences(learner)
        csrf_token, cookie = site.csrf.token(request)
        return site.page(
            "preferences.html",
            request,
            organization=organization,
            cookie=cookie,
            title="Email preferences",
            saved=request.query.get("saved") == "1",
            action=request.return_path,
            csrf_token=csrf_token,
            choices=[
                {
                    "name": category.value,
                    "label": _CATEGORY_TEXT[category][0],
                    "hint": _CATEGORY_TEXT[category][1],
                    "receive": preferences[category],
                    "fixed": not category.honours_opt_out,
                }
                for category in MessageCategory
            ],
        )

    return _handled(site, request, work)


def download_report(site: Site, request: WebRequest) -> WebResponse:
    """``GET /reports/download?token=...``: the usage report email's zip, for its admin.

    Guide, "Accessing Email Reports": the link works for 24 hours, for the admin it went to,
    signed in ("Please make sure you are logged in"), while their rights cover its programs
    (``lp.reports.open_report_zip``).

    Returns:
        200 ``application/zip`` (``member-report.csv``, ``usage-report.csv``,
        ``specialization-report.csv``); 303 to the sign-in page; 400 a forged or altered
        link; 403 another admin's link; 410 a link past 24 hours.
    """
    return _download(site, request, "report.zip", site.lp.reports.open_report_zip)


def download_gradebook(site: Site, request: WebRequest) -> WebResponse:
    """``GET /reports/gradebook?token=...``: a course's gradebook zip, for the admin who asked.

    Guide, "Accessing Gradebooks": the link "will expire in 24 hours"
    (``lp.reports.open_gradebook``).

    Returns:
        As :func:`download_report`; the zip holds ``assessment_attempts.csv`` and
        ``gradebook.csv``.
    """
    return _download(site, request, "gradebook.zip", site.lp.reports.open_gradebook)


def _download(
    site: Site, request: WebRequest, name: str, opener: Callable[[Actor, str], bytes]
) -> WebResponse:
    def work() -> WebResponse:
        token = request.query.get("token", "")
        organization_id = site.lp.reports.link_organization(SYSTEM, token)
        if request.email is None:
            return site.sign_in(request)
        try:
            admin = site.lp.organizations.resolve_actor(SYSTEM, organization_id, request.email)
        except NotFoundError as exc:
            raise PermissionDeniedError(
                f"{request.email} may not open this link: it was issued to another admin"
            ) from exc
        data = opener(admin, token)
        return WebResponse(
            200,
            data,
            {
                "Content-Type": "application/zip",
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return _handled(site, request, work)


def _preferences_path(request: WebRequest, organization_id: str) -> str:
    query = urlencode({"organization": organization_id})
    return f"{request.root_path}/email/preferences?{query}"


__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CsrfGuard",
    "Site",
    "WebRequest",
    "WebResponse",
    "accept_invitation",
    "download_gradebook",
    "download_report",
    "email_preferences",
    "error_status",
    "program_page",
    "safe_return_path",
    "unsubscribe",
]
