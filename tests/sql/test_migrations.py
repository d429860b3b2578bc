"""The schema is made only by the shipped Alembic chain: no drift, and data survives upgrades."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from learnprog.errors import ConflictError
from learnprog.model import AssessmentAttempt, EventKind, LearningEvent, MemberState
from learnprog.model.tally import ActivityTally
from learnprog.storage.sql import SqlUnitOfWork, current_revision, head_revision, upgrade
from learnprog.storage.sql.migrate import alembic_config, downgrade
from learnprog.storage.sql.tables import metadata
from tests.conftest import START, reset_schema
from tests.services.world import SYSTEM

MINUTE = timedelta(minutes=1)


def test_models_and_migrations_do_not_drift(sql_engine: Engine) -> None:
    with sql_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_the_chain_is_linear_with_one_head() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    heads = scripts.get_heads()
    assert heads == [head_revision()]
    revisions = list(scripts.walk_revisions())
    assert [r.revision for r in reversed(revisions)] == [f"{n:04d}" for n in range(1, 17)]
    assert all(not r.is_merge_point and not r.is_branch_point for r in revisions)


def test_an_upgrade_carries_data_from_the_first_revision_to_the_newest(
    sql_engine: Engine,
) -> None:
    reset_schema(sql_engine)
    try:
        upgrade(sql_engine, "0001")
        assert current_revision(sql_engine) == "0001"
        _write_first_revision_rows(sql_engine)
        upgrade(sql_engine)
        assert current_revision(sql_engine) == head_revision()
        with SqlUnitOfWork(sql_engine) as uow:
            org = uow.organizations.get("org1")
            assert org.name == "Ação Learning"
            learner = uow.learners.find_by_email("org1", "stéphane@example.org")
            assert learner is not None
            assert learner.full_name == "Stéphane Dupont"
            assert learner.email.address == "Stéphane@Example.org"
            assert learner.external_id == "00123"
            membership = uow.memberships.get("m1")
            assert membership.state is MemberState.MEMBER
            assert membership.joined_at == datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
            assert uow.contracts.get("c1").remaining == 9
            assert uow.courses.list_for_organization("org1") == []  # revision 0002 is usable
    finally:
        reset_schema(sql_engine)
        upgrade(sql_engine)


def test_downgrade_to_base_and_back(sql_engine: Engine) -> None:
    try:
        downgrade(sql_engine, "base")
        assert current_revision(sql_engine) is None
        names = set(sa.inspect(sql_engine).get_table_names())
        assert not names & set(metadata.tables)
    finally:
        upgrade(sql_engine)
    assert current_revision(sql_engine) == head_revision()


def _write_first_revision_rows(engine: Engine) -> None:
    """Insert rows with plain SQL, as revision 0001 shaped them."""
    at = datetime(2026, 1, 2, 3, 4, 5, 678901)
    reflected = sa.MetaData()
    reflected.reflect(engine)
    t = reflected.tables

    def doc(value: object) -> object:  # MariaDB reflects JSON columns as LONGTEXT
        return json.dumps(value) if engine.dialect.name in ("mysql", "mariadb") else value

    with engine.begin() as conn:
        conn.execute(
            t["organizations"]
            .insert()
            .values(
                id="org1",
                name="Ação Learning",
                email_domains=doc(["example.org"]),
                timezone="UTC",
                report_program_ids=doc([]),
                report_weekdays=doc([]),
                restrict_invitations_to_domains=False,
                created_at=at,
            )
        )
        conn.execute(
            t["programs"]
            .insert()
            .values(id="p1", organization_id="org1", name="Academy", slug="academy", created_at=at)
        )
        conn.execute(
            t["contracts"]
            .insert()
            .values(
                id="c1",
                organization_id="org1",
                name="Y1",
                kind="licenses",
                quantity=10,
                used=1,
                starts_at=at,
                ends_at=at.replace(year=2027),
            )
        )
        conn.execute(
            t["learners"]
            .insert()
            .values(
                id="l1",
                organization_id="org1",
                full_name="Stéphane Dupont",
                email="Stéphane@Example.org",
                email_key="stéphane@example.org",
                external_id="00123",
                attributes=doc({}),
                identity_verified=False,
                created_at=at,
            )
        )
        conn.execute(
            t["memberships"]
            .insert()
            .values(
                id="m1",
                organization_id="org1",
                program_id="p1",
                learner_id="l1",
                contract_id="c1",
                state="MEMBER",
                invited_at=at,
                joined_at=at,
            )
        )


# --- revision 0013: email keys made again, one key per mailbox --------------------------------


def _write_0012_learners(engine: Engine, learners: list[tuple[str, str, str]]) -> None:
    """An organization and learners ``(id, email, email_key)`` keyed by the old rule."""
    reflected = sa.MetaData()
    reflected.reflect(engine)
    t = reflected.tables
    mysql = engine.dialect.name in ("mysql", "mariadb")
    at = datetime(2026, 1, 2, 3, 4, 5)
    with engine.begin() as conn:
        wide = "\uff41\uff43\uff4d\uff45.example"  # full-width "acme", as casefold kept it
        domains = ["acme.example", "strasse.example", "xn--zz.example", wide]
        conn.execute(
            t["organizations"]
            .insert()
            .values(
                id="org1",
                name="Acme",
                email_domains=json.dumps(domains) if mysql else domains,
                timezone="UTC",
                report_program_ids="[]" if mysql else [],
                report_weekdays="[]" if mysql else [],
                restrict_invitations_to_domains=False,
                created_at=at,
            )
        )
        for learner_id, email, key in learners:
            conn.execute(
                t["learners"]
                .insert()
                .values(
                    id=learner_id,
                    organization_id="org1",
                    full_name=f"Learner {learner_id}",
                    email=email,
                    email_key=key,
                    attributes="{}" if mysql else {},
                    identity_verified=False,
                    created_at=at,
                    search_key=f"learner {learner_id}\n{key}",
                )
            )


def test_revision_0013_keys_learners_and_domains_by_the_new_rule_and_lists_them(
    sql_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    reset_schema(sql_engine)
    try:
        upgrade(sql_engine, "0012")
        _write_0012_learners(
            sql_engine,
            [
                ("l1", "Jan.Straße@Acme.example", "jan.strasse@acme.example"),
                ("l2", "Ana@Acme.example", "ana@acme.example"),
                ("l3", "x@xn--strae-oqa.example", "x@strasse.example"),
                ("l4", "ﬁnance@acme.example", "finance@acme.example"),
                ("l5", "Σοσ@acme.example", "σοσ@acme.example"),  # noqa: RUF001 - Greek
            ],
        )
        with caplog.at_level(logging.WARNING, logger="learnprog.migrations"):
            upgrade(sql_engine)
        assert current_revision(sql_engine) == head_revision()
        with SqlUnitOfWork(sql_engine) as uow:
            keys = {lid: uow.learners.get(lid).email.key for lid in ("l1", "l2", "l3", "l4", "l5")}
            assert keys == {
                "l1": "jan.straße@acme.example",
                "l2": "ana@acme.example",
                "l3": "x@straße.example",
                "l4": "ﬁnance@acme.example",
                "l5": "σοσ@acme.example",  # noqa: RUF001 - Greek letters on purpose
            }
            for lid, key in keys.items():  # found by the key the services now ask for
                found = uow.learners.find_by_email("org1", key)
                assert found is not None
                assert found.id == lid
            org = uow.organizations.get("org1")
            assert org.email_domains == ("acme.example", "strasse.example", "xn--zz.example")
            entries = uow.audit.list("org1")
        review = {e.object_id: e for e in entries if e.action == "migration.email_key_review"}
        assert set(review) == {"l1", "l3", "l4"}  # every learner whose key changed
        assert review["l1"].changes["email_key"] == [
            "jan.strasse@acme.example",
            "jan.straße@acme.example",
        ]
        (domains,) = [e for e in entries if e.action == "migration.email_domain_review"]
        assert domains.changes["email_domains"] == [["xn--zz.example"], ["xn--zz.example"]]
        logged = caplog.text
        assert "3 learners' email keys changed" in logged
        assert "l1 <Jan.Straße@Acme.example>" in logged
        assert "xn--zz.example" in logged
        with sql_engine.connect() as conn:  # the members search holds the new key
            search = conn.execute(
                sa.text("SELECT search_key FROM learners WHERE id = 'l1'")
            ).scalar_one()
        assert search.endswith("\njan.straße@acme.example")
    finally:
        reset_schema(sql_engine)
        upgrade(sql_engine)


def test_revision_0013_stops_naming_the_learners_that_would_share_a_key(
    sql_engine: Engine,
) -> None:
    reset_schema(sql_engine)
    try:
        upgrade(sql_engine, "0012")
        # full case folding gave "İpek" the key "i\u0307pek"; the simple mapping gives "ipek"
        _write_0012_learners(
            sql_engine,
            [
                ("l1", "İpek@acme.example", "i\u0307pek@acme.example"),
                ("l2", "ipek@acme.example", "ipek@acme.example"),
                ("l3", "Jan.Straße@Acme.example", "jan.strasse@acme.example"),
            ],
        )
        with pytest.raises(ConflictError, match="revision 0013 stops") as info:
            upgrade(sql_engine)
        message = str(info.value)
        assert "learner l1 <İpek@acme.example>" in message
        assert "learner l2 <ipek@acme.example>" in message
        assert "l3" not in message
        assert info.value.key == ["l1", "l2"]
        assert current_revision(sql_engine) == "0012"  # nothing changed, nothing merged
        with sql_engine.connect() as conn:
            keys = {
                str(lid): str(key)
                for lid, key in conn.execute(sa.text("SELECT id, email_key FROM learners"))
            }
        assert keys == {
            "l1": "i\u0307pek@acme.example",
            "l2": "ipek@acme.example",
            "l3": "jan.strasse@acme.example",
        }
    finally:
        reset_schema(sql_engine)
        upgrade(sql_engine)


def test_revision_0016_backfills_every_course_enrollments_tally_from_its_records(
    sql_engine: Engine,
) -> None:
    from tests.services.test_ingest_tallies import Setting, connect_to

    lp, clock = connect_to(sql_engine)
    setting = Setting(lp, clock)
    lia, rui = (a.learner_id for a in setting.learners)
    course = setting.course.id
    events = [
        LearningEvent(f"e{n}", who, course, item, EventKind.COMPLETED, START + n * 25 * MINUTE)
        for n, (who, item) in enumerate(
            [(lia, "v1"), (lia, "r1"), (rui, "v1"), (lia, "q1"), (lia, "v1"), (rui, "x1")]
        )
    ]
    attempts = [
        AssessmentAttempt("t1", lia, course, "a1", 85.0, START + 70 * MINUTE),
        AssessmentAttempt("t2", rui, course, "a2", 40.0, START + 90 * MINUTE),
    ]
    lp.learning.ingest(SYSTEM, setting.world.org.id, events=events[:3], attempts=attempts)
    setting.reenroll()  # Lia's later events count in her second enrollment
    lp.learning.ingest(SYSTEM, setting.world.org.id, events=events[3:])
    everyone = lp.learning.enrollments(setting.world.admin, setting.world.program.id)
    with SqlUnitOfWork(sql_engine) as uow:
        kept = uow.progress.get_tallies([e.id for e in everyone])
    assert len(kept) == 3
    assert any(t.last_event_at is not None for t in kept.values())
    try:
        downgrade(sql_engine, "0015")
        assert "activity_tallies" not in sa.inspect(sql_engine).get_table_names()
        upgrade(sql_engine)
        with SqlUnitOfWork(sql_engine) as uow:
            backfilled = uow.progress.get_tallies([e.id for e in everyone])
            for e in everyone:
                mine = uow.activity.events_for([e.learner_id], [course])
                theirs = uow.activity.attempts_for([e.learner_id], [course])
                full = ActivityTally.of_records(e, setting.course, mine, theirs).tally
                assert backfilled[e.id] == full == kept[e.id]
    finally:
        upgrade(sql_engine)
