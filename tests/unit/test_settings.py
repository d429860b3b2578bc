"""Unit tests of learnprog.settings.Settings."""

from __future__ import annotations

import pytest
from attrs.exceptions import FrozenInstanceError

from learnprog.errors import ValidationError
from learnprog.model.identity import EmailAddress
from learnprog.settings import Settings


def test_defaults() -> None:
    s = Settings()
    assert s.base_url == "http://localhost:8000"
    assert s.sender_address == EmailAddress.parse("learning@example.com")
    assert s.sender_name == "learnprog"
    assert s.no_reply_address == EmailAddress.parse("noreply@example.com")
    assert s.message_domain == "example.com"
    assert len(s.secret_key) >= 32


def test_default_secret_is_random_per_instance() -> None:
    assert Settings().secret_key != Settings().secret_key


def test_secret_not_in_repr() -> None:
    s = Settings(secret_key="super-secret-value-123")
    assert "super-secret-value-123" not in repr(s)


def test_values_are_converted() -> None:
    s = Settings(
        base_url=" https://learning.example.org ",
        secret_key="k" * 32,
        sender_address=" Learning@Acme.Example ",
        sender_name=" Acme L&D ",
        no_reply_address="noreply@acme.example",
    )
    assert s.base_url == "https://learning.example.org"
    assert s.secret_key == "k" * 32
    assert s.sender_address.address == "Learning@Acme.Example"
    assert s.message_domain == "acme.example"
    assert s.sender_name == "Acme L&D"
    assert s.no_reply_address.address == "noreply@acme.example"


def test_email_address_objects_are_kept() -> None:
    addr = EmailAddress.parse("x@example.org")
    assert Settings(sender_address=addr).sender_address is addr


@pytest.mark.parametrize(
    "url", ["ftp://example.org", "example.org", "https:// example.org", "mailto:a@example.org"]
)
def test_base_url_must_be_http(url: str) -> None:
    with pytest.raises(ValidationError, match="http:// or https:// URL") as info:
        Settings(base_url=url)
    assert info.value.field == "base_url"


@pytest.mark.parametrize("name", ["", "  ", "A\r\nBcc: x@example.org", "x" * 201])
def test_sender_name_rules(name: str) -> None:
    with pytest.raises(ValidationError, match="field 'sender_name'"):
        Settings(sender_name=name)


@pytest.mark.parametrize("field", ["sender_address", "no_reply_address"])
@pytest.mark.parametrize("value", ["not-an-address", "a@example.org\nBcc: b@example.org"])
def test_addresses_validated(field: str, value: str) -> None:
    with pytest.raises(ValidationError, match=f"field '{field}'"):
        Settings(**{field: value})


def test_settings_are_frozen() -> None:
    s = Settings()
    with pytest.raises(FrozenInstanceError, match=r"can.t set attribute"):
        s.base_url = "https://other.example"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://learning.example/=?utf-8?q?x?=", "no query or fragment"),
        ("https://learning.example/?next=1", "no query or fragment"),
        ("https://learning.example/#top", "no query or fragment"),
        ("https://learning.example/>,<mailto:evil@evil.example>", "RFC 3986 path characters"),
        ('https://learning.example/"x"', "RFC 3986 path characters"),
        ("https://learning.example/%zz", "RFC 3986 path characters"),
        ("https://ana:secret@learning.example", "no user name or password"),
        ("https://learning.example:99999", "not a URL"),
        ("https://[::1", "not a URL"),
        ("https://[::g]", "not a URL|not an IPv6 address"),  # urlsplit checks it from 3.11.4
        ("https://:8000", "needs a host"),
        ("https://i\u2665learning.example", "not a domain name"),
        ("https://learning.example/" + "a" * 480, "at most 500 characters"),
        ("https://learning.example/" + "\u00e9" * 100, "at most 500 characters"),
    ],
)
def test_a_base_url_no_link_can_be_built_on_is_refused(url: str, message: str) -> None:
    """Every link is the base URL plus a path and a query, in bodies and in List-Unsubscribe."""
    with pytest.raises(ValidationError, match=message) as info:
        Settings(base_url=url)
    assert info.value.field == "base_url"


@pytest.mark.parametrize(
    ("url", "stored"),
    [
        ("https://b\u00fccher.example/lernen", "https://xn--bcher-kva.example/lernen"),
        ("https://learning.example/\u00e9cole/", "https://learning.example/%C3%A9cole/"),
        ("https://learning.example:8443/a%20b", "https://learning.example:8443/a%20b"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("http://my_host.internal:8000/", "http://my_host.internal:8000/"),
    ],
)
def test_a_base_url_is_kept_in_its_ascii_form(url: str, stored: str) -> None:
    """IDNA 2008 A-labels for hosts (RFC 5891), UTF-8 percent-encoded paths (RFC 3987)."""
    assert Settings(base_url=url).base_url == stored
