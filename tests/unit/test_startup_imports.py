"""Start-up stays fast: heavy optional libraries are imported when used, not with learnprog.

Each check runs in a fresh interpreter (a subprocess) and reads its ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("PIL", "rich", "alembic", "pandas", "matplotlib")
"""Never imported by ``import learnprog`` (the brief of issue 18)."""

NOT_ON_CONNECT = (*HEAVY, "jinja2", "mako", "pygments", "dns", "charset_normalizer")
"""Nor by connecting to a database at the newest revision and reading from it."""


def _modules_after(code: str, cwd: Path | None = None) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=cwd
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in names)


def test_import_learnprog_imports_no_heavy_library() -> None:
    modules = _modules_after("import learnprog")
    assert _loaded(modules, HEAVY) == []
    assert "learnprog.bootstrap" not in modules  # loaded on first use of connect


def test_the_lazy_names_of_learnprog_are_the_real_ones() -> None:
    import learnprog
    import learnprog.bootstrap
    import learnprog.model.access

    assert learnprog.connect is learnprog.bootstrap.connect
    assert learnprog.SystemActor is learnprog.model.access.SystemActor
    assert set(learnprog.__all__) <= set(dir(learnprog))
    for name in learnprog.__all__:
        assert getattr(learnprog, name) is not None


def test_connecting_to_a_database_at_head_and_reading_imports_no_heavy_library(
    tmp_path: Path,
) -> None:
    made = """
import learnprog
settings = learnprog.Settings(secret_key="test-secret-test-secret")
with learnprog.connect("sqlite:///lp.db", settings=settings, mailer=learnprog.InMemoryMailer()):
    pass
"""
    assert "alembic" in _modules_after(made, cwd=tmp_path)  # the schema was made
    code = """
import learnprog
settings = learnprog.Settings(secret_key="test-secret-test-secret")
lp = learnprog.connect("sqlite:///lp.db", settings=settings, mailer=learnprog.InMemoryMailer())
system = learnprog.SystemActor()
org = lp.organizations.create_organization(system, "Acme", email_domains=["acme.example"],
                                           admin_name="Ana", admin_email="ana@acme.example")
ana = lp.organizations.resolve_actor(system, org.id, "ana@acme.example")
lp.programs.list_programs(ana, org.id)
"""
    modules = _modules_after(code, cwd=tmp_path)
    assert _loaded(modules, NOT_ON_CONNECT) == []
    assert "sqlalchemy.dialects.postgresql" not in modules


def test_learnprog_version_imports_neither_the_services_nor_sqlalchemy() -> None:
    code = """
from learnprog.cli import main
try:
    main(["--version"])
except SystemExit:
    pass
"""
    modules = _modules_after(code)
    assert "learnprog.bootstrap" not in modules
    assert _loaded(modules, ("sqlalchemy", *HEAVY)) == []
