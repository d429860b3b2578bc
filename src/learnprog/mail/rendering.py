"""Rendering mail with jinja2: the system templates, and admin-written text in a sandbox.

System templates (invitation, program welcome, course welcome, specialization welcome, program
exit) ship in ``learnprog/mail/templates`` as an HTML file (autoescaped) and a text file each,
with the organization's branding (name, brand color, logo). Source: guide, "Coursera Email
Settings" (the five system emails).

Admin-written text (subjects, bodies, invitation messages) is rendered in jinja2's
``SandboxedEnvironment`` with strict undefined variables, and may use only the placeholders in
:data:`ADMIN_PLACEHOLDERS`. :func:`check_admin_text` is called when the text is composed (a
setting saved, a message drafted), so an unknown placeholder or broken syntax is an error
before anything is sent; rendering consumes the template syntax, and values put in are never
rendered again, so no output carries raw template syntax.

jinja2 is imported, and its environments built, on first use, not with learnprog.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from attrs import frozen

from learnprog.errors import ValidationError
from learnprog.model.mail import MessageCategory

if TYPE_CHECKING:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

DEFAULT_BRAND_COLOR = "#0056D2"

ADMIN_PLACEHOLDERS: Mapping[str, str] = {
    "learner_name": "the recipient's full name",
    "program_name": "the program's name",
    "organization_name": "the organization's name",
}
"""The placeholders admin-written text may use, as ``{{ learner_name }}``, with their meaning."""

PREVIEW_VALUES: Mapping[str, str] = {
    "learner_name": "[User name will go here]",
    "program_name": "[program name will go here]",
    "organization_name": "[organization name will go here]",
}
"""What the placeholders show in a preview without a recipient (guide, "Preview message")."""


@frozen
class SystemTemplate:
    """A system email: its file names, category and subject line.

    Attributes:
        name: the template's name (``invitation``): ``name.html`` and ``name.txt``.
        category: transactional (always sent) or announcement (a learner may opt out).
        subject: the subject line, itself a template over the same context.
    """

    name: str
    category: MessageCategory
    subject: str


INVITATION = SystemTemplate(
    "invitation", MessageCategory.TRANSACTIONAL, "You're invited to {{ program.name }}"
)
PROGRAM_WELCOME = SystemTemplate(
    "program_welcome", MessageCategory.ANNOUNCEMENT, "Welcome to {{ program.name }}"
)
COURSE_WELCOME = SystemTemplate(
    "course_welcome", MessageCategory.ANNOUNCEMENT, "Welcome to {{ course.name }}"
)
SPECIALIZATION_WELCOME = SystemTemplate(
    "specialization_welcome",
    MessageCategory.ANNOUNCEMENT,
    "Welcome to {{ specialization.name }}",
)
ADMIN_MESSAGE = SystemTemplate(
    "admin_message", MessageCategory.ADMIN, "{{ admin_message.subject }}"
)
"""An admin's message to an audience (guide, "Messaging Learners"): the admin's subject, the
content's paragraphs and an optional call-to-action button at the end."""
PROGRAM_EXIT = SystemTemplate(
    "program_exit", MessageCategory.TRANSACTIONAL, "You have left {{ program.name }}"
)

USAGE_REPORT = SystemTemplate(
    "usage_report", MessageCategory.ADMIN, "{{ organization.name }} Program Usage Report"
)
"""The usage report email to an administrator (guide, "Accessing Email Reports" and "Scheduling
Email Reports"): the programs covered, the eighteen figures and a download link for the zip.

Category ADMIN, not TRANSACTIONAL: the report is administration mail that recurs on a schedule,
sent to every admin whose scope covers it whether or not they set the schedule, so its
recipients must be able to stop it (an opt-out and a one-click ``List-Unsubscribe``, RFC 8058),
which transactional mail never honours. ANNOUNCEMENT is the learners' course and program news.
Its context has no ``program`` (a report covers several): ``report`` holds ``programs`` (name,
url), ``updated``, ``figures`` (label, value), ``download_url`` and ``expires``, and
``footer_note`` says why the admin gets it. Not in :data:`SYSTEM_TEMPLATES`, which lists the
learners' emails."""

SYSTEM_TEMPLATES: Mapping[str, SystemTemplate] = {
    t.name: t
    for t in (
        INVITATION,
        PROGRAM_WELCOME,
        COURSE_WELCOME,
        SPECIALIZATION_WELCOME,
        PROGRAM_EXIT,
        ADMIN_MESSAGE,
    )
}
"""Every system email by name."""


@frozen
class RenderedMail:
    """A rendered email: subject, text body and HTML body."""

    subject: str
    text: str
    html: str


class MailTemplates:
    """Renders the system templates shipped in the package.

    Variables (every template): ``organization`` (name, logo_url), ``brand_color``, ``program``
    (name, tagline, url), ``learner`` (full_name, email), ``unsubscribe_url`` (or None for
    transactional mail), ``subject``; per template: ``accept_url`` and ``message`` (invitation),
    ``course`` (name, partner), ``specialization`` (name, partner, course_count).
    """

    def __init__(self) -> None:
        self._subjects: dict[str, jinja2.Template] = {}

    @functools.cached_property
    def _html(self) -> jinja2.Environment:
        import jinja2

        return jinja2.Environment(
            loader=jinja2.PackageLoader("learnprog.mail", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            auto_reload=False,
        )

    @functools.cached_property
    def _text(self) -> jinja2.Environment:
        import jinja2

        return jinja2.Environment(
            loader=jinja2.PackageLoader("learnprog.mail", "templates"),
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            auto_reload=False,
            keep_trailing_newline=True,
        )

    def _subject(self, source: str) -> jinja2.Template:
        compiled = self._subjects.get(source)
        if compiled is None:
            compiled = self._subjects[source] = self._text.from_string(source)
        return compiled

    def render(self, template: SystemTemplate, context: Mapping[str, Any]) -> RenderedMail:
        """Render ``template`` with ``context``.

        Raises:
            ValidationError: a variable the template needs is missing from ``context``.
        """
        import jinja2

        values = dict(context)
        values.setdefault("brand_color", DEFAULT_BRAND_COLOR)
        values.setdefault("footer_note", None)
        values.setdefault("preferences_url", None)
        try:
            subject = " ".join(self._subject(template.subject).render(values).split())
            values["subject"] = subject
            html = self._html.get_template(f"{template.name}.html").render(values)
            text = self._text.get_template(f"{template.name}.txt").render(values)
            footer = self._text.get_template("_footer.txt").render(values)
        except jinja2.UndefinedError as exc:
            raise ValidationError(
                f"template {template.name}: {exc.message}", field="template"
            ) from exc
        return RenderedMail(subject, f"{text.rstrip()}\n\n{footer}", html)


@functools.cache
def _sandbox() -> SandboxedEnvironment:
    """The sandbox admin text is parsed and rendered in, made on first use."""
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    sandbox = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
    sandbox.globals.clear()  # no range(), lipsum(), dict(), ...: only the documented placeholders
    return sandbox


_TEMPLATE_MARKS = ("{{", "}}", "{%", "%}", "{#", "#}")

_BRACED = re.compile(
    r"(?<!\{)(\{++)-?\s*+([A-Za-z][\w.\-]*+(?: [A-Za-z0-9][\w.\-]*+)*+)\s*+-?(\}++)"
)
"""A word in braces, as many as written: ``{learner_name}``, ``{{ Learner Name }}``,
``{{learner_name}``, ``{{{ learner_name }}}``. Only two and two make a placeholder. Possessive
quantifiers, and a match starts only at a run's first brace, so no text makes it backtrack."""


def _placeholder(name: str) -> str:
    return "{{ " + name + " }}"


def _allowed() -> str:
    return ", ".join(_placeholder(name) for name in ADMIN_PLACEHOLDERS)


def _closest(written: str) -> str | None:
    """The placeholder ``written`` most likely means, or ``None``.

    Case, spaces, dots and hyphens are ignored (``Learner Name`` means ``learner_name``), and
    a near spelling counts (difflib's ratio of 0.8 or more: ``lerner_name``).
    """
    key = "_".join(re.split(r"[^a-z0-9]+", written.lower())).strip("_")
    found = difflib.get_close_matches(key, list(ADMIN_PLACEHOLDERS), n=1, cutoff=0.8)
    return found[0] if found else None


def _misspelt(written: str, shown: str) -> str:
    """The error for a misspelt placeholder, shown as written: the right spelling or the list.

    What is shown is cut to 80 characters, so hostile text cannot make the error huge.
    """
    if len(shown) > 80:
        shown = shown[:77] + "..."
    best = _closest(written)
    if best is not None:
        return f"{shown} is not a placeholder: write {_placeholder(best)}"
    return f"{shown} is not a placeholder; the placeholders are {_allowed()}"


def _check_tokens(source: str) -> None:
    """Refuse, before parsing, what the parser would misread or the parsed template hides.

    A name in braces that are not two and two (``{learner_name}``, ``{{learner_name}``,
    ``{{{ learner_name }}}``, ``{team}``; words close to a placeholder's name count too,
    ``{ Learner Name }``, other words in braces stay text), or in double braces but not a
    name and close to a placeholder's (``{{ Learner Name }}``, ``{{ learner-name }}``), is a
    placeholder misspelt: it is named as written, with the right spelling where one is close.
    A raw block (``{% raw %}...{% endraw %}``) leaves only its text in the parsed template,
    so it is refused here, from the lexer's tokens.

    Raises:
        ValueError: any of those (the message names it).
        jinja2.TemplateSyntaxError: the lexer cannot read the text.
    """
    for match in _BRACED.finditer(source):
        opening, written, closing = match.groups()
        looks_like_one = written.isidentifier() or _closest(written) is not None
        if (len(opening), len(closing)) != (2, 2) and looks_like_one:
            shown = match.group(0)
            if len(opening) == len(closing) == 1:
                shown += " in single braces"
            raise ValueError(_misspelt(written, shown))
        if not written.isidentifier() and _closest(written) is not None:
            raise ValueError(_misspelt(written, match.group(0)))  # the parser would not say
    for _, kind, value in _sandbox().lex(source):
        if kind == "raw_begin":
            raise ValueError(
                f"{' '.join(value.split())} blocks are not allowed: admin text is plain text "
                f"with placeholders ({_allowed()})"
            )


@functools.lru_cache(maxsize=256)
def _parse_admin_text(source: str) -> tuple[jinja2.Template, frozenset[str]]:
    """Parse, restrict and compile admin text once (compiling per recipient is slow).

    Only plain text and ``{{ placeholder }}`` are allowed: no filters, expressions, calls,
    attribute access, loops, conditions, macros, includes or raw blocks. That rules out
    output of any size or shape the admin did not type, code that runs long, and template
    syntax surviving into the message. A word in single braces (``{learner_name}``) and a
    brace beside a placeholder (``{{{ learner_name }}}``) are refused too, so no brace of a
    placeholder reaches a learner.

    Raises:
        ValueError: the text uses more than plain text and placeholders (the message says
            what); jinja2.TemplateSyntaxError: broken syntax.
    """
    from jinja2 import nodes

    _check_tokens(source)
    parsed = _sandbox().parse(source)
    names: set[str] = set()
    for output in parsed.body:
        if not isinstance(output, nodes.Output):
            raise ValueError(f"tags like {{% {type(output).__name__.lower()} %}} are not allowed")
        for i, node in enumerate(output.nodes):
            if isinstance(node, nodes.TemplateData):
                if any(mark in node.data for mark in _TEMPLATE_MARKS):
                    raise ValueError(
                        "the text may not hold {{, }}, {%, %}, {# or #} outside a placeholder"
                    )
            elif isinstance(node, nodes.Name) and node.ctx == "load":
                names.add(node.name)
                before = output.nodes[i - 1] if i else None
                after = output.nodes[i + 1] if i + 1 < len(output.nodes) else None
                opened = isinstance(before, nodes.TemplateData) and before.data.rstrip()[-1:] == "{"
                closed = isinstance(after, nodes.TemplateData) and after.data.lstrip()[:1] == "}"
                if opened or closed:
                    raise ValueError(
                        f"a brace beside {_placeholder(node.name)} would reach the learner: "
                        f"write {_placeholder(node.name)} alone"
                    )
            else:
                raise ValueError(
                    "only placeholders like {{ learner_name }} are allowed: no filters, "
                    "expressions or attribute access"
                )
    return _sandbox().from_string(parsed), frozenset(names)


def check_admin_text(source: str, *, field: str) -> str:
    """Check admin-written text before it is saved or sent.

    Admin text is plain text with placeholders like ``{{ learner_name }}``, nothing more. A
    misspelt placeholder (``{{ lerner_name }}``, ``{{ Learner Name }}``) or one in single
    braces (``{learner_name}``) is refused naming it as written and the right spelling, and a
    raw block (``{% raw %}``) is refused by name (docs/mail.md, "Admin-written text").

    Args:
        source: the text.
        field: the field named in errors (``invitation_message``).

    Returns:
        ``source`` unchanged.

    Raises:
        ValidationError: not text, broken template syntax, anything but text and
            placeholders, a placeholder outside :data:`ADMIN_PLACEHOLDERS` (the error lists
            the allowed ones and the right spelling of a near one), a word in single braces,
            a brace beside a placeholder, a raw block, or text the template parser cannot
            read at all (nesting deep enough to exhaust its recursion,
            ``{{ ((((...)))) }}``, or any other failure of the parser: never an error
            outside learnprog's tree).
    """
    import jinja2

    if not isinstance(source, str):
        raise ValidationError("text is required", field=field, value=source)
    try:
        _, names = _parse_admin_text(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ValidationError(
            f"template syntax error on line {exc.lineno}: {exc.message}", field=field, value=source
        ) from exc
    except (ValueError, jinja2.TemplateError) as exc:
        raise ValidationError(str(exc), field=field, value=source) from exc
    except RecursionError as exc:  # jinja2's parser recurses once per nesting level
        raise ValidationError(
            "the text is nested too deeply to read as a template", field=field, value=source
        ) from exc
    except Exception as exc:  # any other blow-up of the parser on the admin's text
        raise ValidationError(
            f"the text cannot be read as a template ({type(exc).__name__})",
            field=field,
            value=source,
        ) from exc
    unknown = sorted(names - ADMIN_PLACEHOLDERS.keys())
    if unknown:
        hints = [(name, _closest(name)) for name in unknown]
        meant = "".join(
            f" ({_placeholder(name)}: write {_placeholder(best)})"
            for name, best in hints
            if best is not None
        )
        raise ValidationError(
            f"unknown placeholder {', '.join(unknown)}{meant}; the placeholders are {_allowed()}",
            field=field,
            value=source,
        )
    return source


def render_admin_text(source: str, values: Mapping[str, str], *, field: str) -> str:
    """Render checked admin-written text with one recipient's values, in the sandbox.

    Raises:
        ValidationError: the text fails :func:`check_admin_text`, or tries something the
            sandbox forbids (attribute access to internals, for example).
    """
    import jinja2
    from jinja2.exceptions import SecurityError

    check_admin_text(source, field=field)
    template, _ = _parse_admin_text(source)
    try:
        return template.render(dict(values))
    except (SecurityError, jinja2.TemplateError) as exc:
        raise ValidationError(
            f"the text cannot be rendered: {exc}", field=field, value=source
        ) from exc
