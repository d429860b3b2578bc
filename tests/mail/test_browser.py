"""Each system email's HTML, rendered by headless Chromium to a screenshot that is not blank."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageStat

import learnprog
from learnprog.mail.rendering import SYSTEM_TEMPLATES
from learnprog.model import OrgAdminActor, SystemActor

SYSTEM = SystemActor()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def chromium() -> str:
    if CHROMIUM is None:
        message = "Chromium is not installed (Debian package: chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.mark.browser
@pytest.mark.parametrize("name", sorted(SYSTEM_TEMPLATES))
def test_the_email_renders_in_a_browser(chromium: str, tmp_path: Path, name: str) -> None:
    lp = learnprog.connect("memory://")
    org = lp.organizations.create_organization(
        SYSTEM,
        "Acme Learning",
        email_domains=["acme.example"],
        admin_name="Ana",
        admin_email="ana@acme.example",
        brand_color="#0B6E4F",
    )
    ana = lp.organizations.resolve_actor(SYSTEM, org.id, "ana@acme.example")
    assert isinstance(ana, OrgAdminActor)
    program = lp.programs.create_program(ana, org.id, "Data Academy", tagline="Learn by doing")
    message = lp.mail.preview_system_email(ana, program.id, name)
    assert message.html_body is not None
    page = tmp_path / f"{name}.html"
    page.write_text(message.html_body, encoding="utf-8")
    shot = tmp_path / f"{name}.png"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--hide-scrollbars",
            "--window-size=700,900",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with Image.open(shot) as image:
        assert image.size == (700, 900)
        stats = ImageStat.Stat(image.convert("L"))
        assert stats.stddev[0] > 10, "the screenshot is blank"
        colors = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
    assert any(rgb == (0x0B, 0x6E, 0x4F) for _, rgb in colors), "the brand color is not shown"
