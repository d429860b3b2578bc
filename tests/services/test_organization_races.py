"""Two ``learnprog init`` runs of one organization name at once make one organization (issue 17).

``init`` looked for the name and then created the organization: two runs at once both found
none and both created one, and ``--org NAME`` then named two. Now the organization holds its
name alone (``create_organization(..., unique_name=True)``): a unique key on SQL storage refuses
the second, which says ``an organization named ... exists already``. Each race runs ``ROUNDS``
times (:mod:`tests.races`): the Python call in threads on every backend, and the command itself
in spawned processes on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine

import learnprog
from learnprog.cli import main
from learnprog.model import SystemActor
from tests.conftest import UowFactory
from tests.races import ROUNDS, at_once, process_race

SYSTEM = SystemActor()


def _names(lp: learnprog.Learnprog) -> list[str]:
    return sorted(o.name for o in lp.organizations.list_organizations(SYSTEM))


def test_two_creations_of_one_held_name_at_once_make_one(uow_factory: UowFactory) -> None:
    lp = learnprog.connect(
        uow_factory=uow_factory, settings=learnprog.Settings(secret_key="test-secret-test-secret")
    )

    def create(round_: int) -> object:
        return lp.organizations.create_organization(
            SYSTEM, f"Acme {round_}", email_domains=["acme.example"],
            admin_name="Ana", admin_email="ana@acme.example", unique_name=True,
        )  # fmt: skip

    for round_ in range(ROUNDS):
        outcomes = at_once([partial(create, round_)] * 2)
        assert outcomes == ["ConflictError", "Organization"]
    assert _names(lp) == sorted(f"Acme {r}" for r in range(ROUNDS))
    with pytest.raises(learnprog.ConflictError) as caught:
        create(0)
    assert str(caught.value) == "an organization named 'Acme 0' exists already"
    # a name not held alone may be shared, and then cannot be held
    lp.organizations.create_organization(SYSTEM, "Globex")
    lp.organizations.create_organization(SYSTEM, "Globex")
    with pytest.raises(learnprog.ConflictError, match="named 'Globex' exists already"):
        lp.organizations.create_organization(SYSTEM, "Globex", unique_name=True)
    # renaming onto a held name is refused; the held name follows a rename
    orgs = lp.organizations.list_organizations(SYSTEM)
    globex = next(o for o in orgs if o.name == "Globex")
    held = next(o for o in orgs if o.name == "Acme 0")
    assert (globex.unique_name, held.unique_name) == (False, True)
    ana = lp.organizations.resolve_actor(SYSTEM, held.id, "ana@acme.example")
    with pytest.raises(learnprog.ConflictError, match="named 'Acme 1' exists already"):
        lp.organizations.update_settings(ana, held.id, name="Acme 1")
    lp.organizations.update_settings(ana, held.id, name="Acme Zero")
    create(0)  # the old name is free again; the new one is held
    with pytest.raises(learnprog.ConflictError, match="named 'Acme Zero' exists already"):
        lp.organizations.create_organization(SYSTEM, "Acme Zero", unique_name=True)


def init_in_worker(url: str, name: str) -> tuple[int, str]:
    """One process's ``learnprog --db URL init NAME ...``: its exit status and stderr."""
    result = CliRunner().invoke(
        main,
        [
            "--db",
            url,
            "init",
            name,
            "--domain",
            "acme.example",
            "--admin-name",
            "Ana",
            "--admin-email",
            "ana@acme.example",
        ],
    )
    return result.exit_code, result.stderr


def test_two_inits_of_one_name_in_two_processes_make_one_organization(
    sql_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the workers' outbox and default files land here
    monkeypatch.setenv("LEARNPROG_SECRET_KEY", "test-secret-test-secret")
    url = sql_engine.url.render_as_string(hide_password=False)
    with process_race(2) as race:
        for round_ in range(ROUNDS):
            name = f"Acme {round_}"
            results: list[tuple[int, str]] = []
            for result in race.results(init_in_worker, [(url, name)] * 2):
                assert isinstance(result, tuple), result
                results.append((int(result[0]), str(result[1])))
            assert sorted(code for code, _ in results) == [0, 1], results
            refused = next(err for code, err in results if code == 1)
            assert refused == f"error: an organization named {name!r} exists already\n"
    lp = learnprog.connect(url, settings=learnprog.Settings(secret_key="test-secret-test-secret"))
    with lp:
        assert _names(lp) == sorted(f"Acme {r}" for r in range(ROUNDS))


def test_no_rename_takes_a_name_held_alone_or_shares_one(uow_factory: UowFactory) -> None:
    lp = learnprog.connect(uow_factory=uow_factory)
    held = lp.organizations.create_organization(
        SYSTEM, "Acme", email_domains=["acme.example"],
        admin_name="Ana", admin_email="ana@acme.example", unique_name=True,
    )  # fmt: skip
    plain = lp.organizations.create_organization(
        SYSTEM, "Globex", email_domains=["globex.example"],
        admin_name="Gil", admin_email="gil@globex.example",
    )  # fmt: skip
    lp.organizations.create_organization(SYSTEM, "Initech")
    gil = lp.organizations.resolve_actor(SYSTEM, plain.id, "gil@globex.example")
    ana = lp.organizations.resolve_actor(SYSTEM, held.id, "ana@acme.example")
    with pytest.raises(learnprog.ConflictError, match="named 'Acme' exists already"):
        lp.organizations.update_settings(gil, plain.id, name="Acme")  # held by another
    with pytest.raises(learnprog.ConflictError, match="named 'Initech' exists already"):
        lp.organizations.update_settings(ana, held.id, name="Initech")  # would be shared
    assert _names(lp) == ["Acme", "Globex", "Initech"]
    lp.organizations.update_settings(gil, plain.id, name="Initech")  # plain names may be shared
    lp.organizations.update_settings(ana, held.id, name="Acme")  # its own name: unchanged
    assert _names(lp) == ["Acme", "Initech", "Initech"]
