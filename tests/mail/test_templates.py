"""System templates and admin-written text: structure, branding, escaping, the sandbox."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

import learnprog
from learnprog.errors import ValidationError
from learnprog.mail.rendering import SYSTEM_TEMPLATES, check_admin_text, render_admin_text
from learnprog.model import OrgAdminActor, SystemActor

SYSTEM = SystemActor()


class Structure(HTMLParser):
    """Collects links and checks that every opened element is closed in order."""

    VOID = {"meta", "img", "br", "hr", "input", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links.extend(v for k, v in attrs if k == "href" and v)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unexpected </{tag}>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _program(lp: learnprog.Learnprog) -> tuple[str, OrgAdminActor, str]:
    org = lp.organizations.create_organization(
        SYSTEM,
        "Équipe <Formação>",
        email_domains=["acme.example"],
        admin_name="Ana",
        admin_email="ana@acme.example",
        brand_color="#aa3300",
        logo_url="https://cdn.acme.example/logo.png",
        default_invitation_message="Hi {{ learner_name }}, join {{ program_name }}!",
    )
    ana = lp.organizations.resolve_actor(SYSTEM, org.id, "ana@acme.example")
    assert isinstance(ana, OrgAdminActor)
    program = lp.programs.create_program(ana, org.id, "Data & AI", slug="data-ai")
    return org.id, ana, program.id


@pytest.mark.parametrize("name", sorted(SYSTEM_TEMPLATES))
def test_each_system_template_renders_to_well_formed_branded_html(
    lp: learnprog.Learnprog, name: str
) -> None:
    _, ana, program_id = _program(lp)
    message = lp.mail.preview_system_email(ana, program_id, name)
    assert message.html_body is not None
    page = Structure()
    page.feed(message.html_body)
    page.close()
    assert page.errors == []
    assert page.stack == []  # everything closed
    assert any(link.startswith("http://localhost:8000/programs/data-ai") for link in page.links)
    assert "http://localhost:8000/programs/data-ai" in message.text_body
    for body in (message.html_body, message.text_body, message.subject):
        assert "{{" not in body
        assert "{%" not in body
    assert "#AA3300" in message.html_body  # the brand color
    assert "https://cdn.acme.example/logo.png" in message.html_body
    assert "Équipe &lt;Formação&gt;" in message.html_body  # autoescaped
    assert "<Formação>" not in message.html_body
    assert message.sender_name == "Équipe <Formação>"
    assert "You are receiving this email because" in message.text_body
    unsubscribe = message.headers.get("List-Unsubscribe")
    if message.category.honours_opt_out:
        assert unsubscribe is not None
        assert unsubscribe.startswith("<http://localhost:8000/email/unsubscribe?token=")
        assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert unsubscribe[1:-1] in page.links
    else:
        assert unsubscribe is None


def test_the_invitation_carries_the_program_message_or_the_organization_default(
    lp: learnprog.Learnprog,
) -> None:
    _, ana, program_id = _program(lp)
    default = lp.mail.preview_system_email(ana, program_id, "invitation")
    assert "Hi Sample Learner, join Data &amp; AI!" in (default.html_body or "")
    assert "Hi Sample Learner, join Data & AI!" in default.text_body
    assert "/programs/data-ai/accept?token=" in default.text_body
    lp.programs.update_program(
        ana, program_id, invitation_message="{{ organization_name }} <3 {{ learner_name }}"
    )
    own = lp.mail.preview_system_email(ana, program_id, "invitation")
    assert "Équipe &lt;Formação&gt; &lt;3 Sample Learner" in (own.html_body or "")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("Hello {{ manager_name }}", "unknown placeholder manager_name"),
        ("Hello {{ learner_name ", "syntax"),
        ("{{ learner_name.__class__.__mro__ }}", "only placeholders"),
        ("{% for x in range(10**9) %}{% endfor %}", "tags"),
        ("{{ learner_name * 100000000 }}", "only placeholders"),
        ("{{ 10**100000000 }}", "only placeholders"),
        ("{{ 'x'|center(2**62) }}", "only placeholders"),
        ("{{ 1/0 }}", "only placeholders"),
        ("{% include 'x' %}", "tags"),
        ("{{ learner_name|round }}", "only placeholders"),
        ("{{ learner_name|nosuchfilter }}", "only placeholders"),
        ("{% raw %}{{ learner_name }}{% endraw %}", r"\{% raw %\} blocks are not allowed"),
        ("{% raw %}Hello{% endraw %}", r"\{% raw %\} blocks are not allowed"),
        ("Hi {%- raw -%}x{%- endraw %}", r"\{%- raw -%\} blocks are not allowed"),
        ("{{ '{{ learner_name }}' }}", "only placeholders"),
        ("{{ learner_name.format_map }}", "only placeholders"),
        ("{{ self }}", "unknown placeholder self"),
        ("Hello {{ '\\ud800' }}", "only placeholders"),
        ("{% macro m() %}{{ m() }}{% endmacro %}", "tags"),
        ("{% set x = 1 %}", "tags"),
        ("{{ " + "(" * 200 + "learner_name" + ")" * 200 + " }}", "nested too deeply"),
        ("{{ " + "(" * 3000 + "learner_name" + ")" * 3000 + " }}", "nested too deeply"),
        ("{{ " + "[" * 3000 + " }}", "nested too deeply|syntax"),
    ],
)
def test_admin_text_is_plain_text_and_documented_placeholders(text: str, error: str) -> None:
    with pytest.raises(ValidationError, match=error) as caught:
        check_admin_text(text, field="body")
    assert caught.value.field == "body"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("Hi {learner_name}!", "{learner_name} in single braces is not a placeholder: "
                               "write {{ learner_name }}"),
        ("Hi { Learner Name }", "{ Learner Name } in single braces is not a placeholder: "
                                "write {{ learner_name }}"),
        ("Hi {lerner_name}", "{lerner_name} in single braces is not a placeholder: "
                             "write {{ learner_name }}"),
        ("At {organisation_name}", "write {{ organization_name }}"),
        ("Hi {team}", "{team} in single braces is not a placeholder; the placeholders are "
                      "{{ learner_name }}, {{ program_name }}, {{ organization_name }}"),
        ("Hi {{ lerner_name }}", "unknown placeholder lerner_name ({{ lerner_name }}: "
                                 "write {{ learner_name }})"),
        ("Hi {{ Learner_Name }}", "write {{ learner_name }}"),
        ("Hi {{ Learner Name }}", "{{ Learner Name }} is not a placeholder: "
                                  "write {{ learner_name }}"),
        ("Hi {{ learner-name }}", "{{ learner-name }} is not a placeholder: "
                                  "write {{ learner_name }}"),
        ("Join {{ program.name }}", "{{ program.name }} is not a placeholder: "
                                    "write {{ program_name }}"),
        ("Hi {{learner_name}", "{{learner_name} is not a placeholder: write {{ learner_name }}"),
        ("Hi {{{ learner_name }}}", "{{{ learner_name }}} is not a placeholder"),
        ("Hi { {{ learner_name }} }", "a brace beside {{ learner_name }} would reach the learner"),
        ("Hi {\n{{ learner_name }}", "a brace beside {{ learner_name }}"),
    ],
)  # fmt: skip
def test_a_misspelt_placeholder_is_named_with_its_right_spelling(text: str, error: str) -> None:
    with pytest.raises(ValidationError) as caught:
        check_admin_text(text, field="body")
    assert error in str(caught.value)
    assert caught.value.field == "body"
    with pytest.raises(ValidationError):  # nor can stored text reach a learner unchecked
        render_admin_text(
            text, {"learner_name": "Ana", "program_name": "P", "organization_name": "O"},
            field="body",
        )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("{" * 50_000 + "learner_name" + "}" * 50_000, True),
        ("{" * 100_000, True),
        ("Hi {learner_name" + " x" * 50_000 + "}", False),
        ("{a " * 30_000, False),
    ],
)
def test_hostile_braces_are_refused_or_read_as_text_with_a_short_error(
    text: str, refused: bool
) -> None:
    if not refused:
        assert check_admin_text(text, field="body") == text
        return
    with pytest.raises(ValidationError) as caught:
        check_admin_text(text, field="body")
    assert caught.value.field == "body"
    assert len(caught.value.reason) < 400  # the text is named by its start, not repeated whole


@pytest.mark.parametrize(
    "text",
    [
        "Hi {{ learner_name }}, join {{program_name}} at {{- organization_name -}}!",
        "Prices: {} and {1}, a lone { and a } stay text, as does {{ learner_name }} {}",
    ],
)
def test_braces_that_are_no_placeholder_are_plain_text(text: str) -> None:
    assert check_admin_text(text, field="body") == text
    values = {"learner_name": "Ana", "program_name": "P", "organization_name": "O"}
    assert "learner_name" not in render_admin_text(text, values, field="body")


def test_a_misspelt_placeholder_is_refused_when_saved_or_composed(lp: learnprog.Learnprog) -> None:
    org_id, ana, program_id = _program(lp)
    with pytest.raises(ValidationError, match=r"write \{\{ learner_name \}\}") as caught:
        lp.programs.update_program(ana, program_id, invitation_message="Hi {learner_name}")
    assert caught.value.field == "invitation_message"
    with pytest.raises(ValidationError, match=r"write \{\{ program_name \}\}") as caught:
        lp.organizations.update_settings(
            ana, org_id, default_invitation_message="Join {{ programme_name }}"
        )
    assert caught.value.field == "default_invitation_message"
    with pytest.raises(ValidationError, match="single braces") as caught:
        lp.messaging.compose(ana, org_id, "all_members", subject="Hi {learner_name}")
    assert caught.value.field == "subject"
    with pytest.raises(ValidationError, match="raw") as caught:
        lp.messaging.compose(ana, org_id, "all_members", content="{% raw %}x{% endraw %}")
    assert caught.value.field == "content"
    assert lp.programs.get_program(ana, program_id).invitation_message is None
    org = lp.organizations.get_organization(ana, org_id)
    assert org.default_invitation_message == "Hi {{ learner_name }}, join {{ program_name }}!"


def test_admin_text_renders_its_placeholders() -> None:
    values = {"learner_name": "Ana", "program_name": "P", "organization_name": "O"}
    text = "Hi {{ learner_name }}, {# a comment #}join {{program_name}} at {{ organization_name }}"
    assert render_admin_text(text, values, field="body") == "Hi Ana, join P at O"


def test_deeply_nested_admin_text_is_a_validation_error_wherever_it_is_written(
    lp: learnprog.Learnprog,
) -> None:
    org_id, ana, program_id = _program(lp)

    def nested(depth: int) -> str:
        return "Hi {{ " + "(" * depth + "learner_name" + ")" * depth + " }}"

    deep = nested(500)
    with pytest.raises(ValidationError, match="nested too deeply") as caught:
        lp.messaging.compose(ana, org_id, "all_members", content=deep)
    assert caught.value.field == "content"
    with pytest.raises(ValidationError, match="nested too deeply") as caught:
        lp.messaging.compose(ana, org_id, "all_members", subject=nested(130))
    assert caught.value.field == "subject"
    with pytest.raises(ValidationError, match="nested too deeply") as caught:
        lp.programs.update_program(ana, program_id, invitation_message=deep)
    assert caught.value.field == "invitation_message"
    with pytest.raises(ValidationError, match="nested too deeply"):
        lp.organizations.update_settings(ana, org_id, default_invitation_message=deep)
    assert lp.programs.get_program(ana, program_id).invitation_message is None


def test_a_bad_invitation_message_is_refused_when_saved(lp: learnprog.Learnprog) -> None:
    org_id, ana, program_id = _program(lp)
    with pytest.raises(ValidationError, match="unknown placeholder") as caught:
        lp.programs.update_program(ana, program_id, invitation_message="Hi {{ first_name }}")
    assert caught.value.field == "invitation_message"
    with pytest.raises(ValidationError, match="unknown placeholder"):
        lp.organizations.update_settings(ana, org_id, default_invitation_message="{{ x }}")
    assert lp.programs.get_program(ana, program_id).invitation_message is None


def test_values_are_never_rendered_twice(lp: learnprog.Learnprog) -> None:
    rendered = render_admin_text(
        "Dear {{ learner_name }}",
        {
            "learner_name": "{{ program_name }} {% if 1 %}x{% endif %}",
            "program_name": "P",
            "organization_name": "O",
        },
        field="body",
    )
    assert rendered == "Dear {{ program_name }} {% if 1 %}x{% endif %}"


def test_an_unknown_template_is_a_validation_error(lp: learnprog.Learnprog) -> None:
    _, ana, program_id = _program(lp)
    with pytest.raises(ValidationError, match="template"):
        lp.mail.preview_system_email(ana, program_id, "marketing")
