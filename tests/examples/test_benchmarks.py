"""Each benchmark script runs at a tiny size and its own cross-checks agree.

Figures are never asserted (they belong to the scripts' output, not to a test); what is asserted
is that every script still runs and that learnprog and the hand-written side it is compared with
find the same things: audience counts, members' figures, ratings. The server backends run in
``learner_writes.py`` only, in the suite's own test databases (``LEARNPROG_TEST_POSTGRES_URL``,
``LEARNPROG_TEST_MARIADB_URL``), never the benchmarks' ``learnprog_bench`` ones; like the other
database tests, an unreachable server skips it, except with ``CI=true``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import IN_CI, MARIADB_URL, POSTGRES_URL
from tests.examples.conftest import run_script

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def run_benchmark(tmp_path: Path, script: str, *args: str) -> str:
    return run_script(BENCHMARKS / script, tmp_path, *args)


def test_audience_counts_agree_with_the_hand_written_queries(tmp_path: Path) -> None:
    out = run_benchmark(tmp_path, "audiences.py", "--members", "300", "--backends", "sqlite")
    assert "all_members" in out
    assert "hand-written:" not in out  # printed only beside a count that differs


def test_bulk_invitation_benchmark_runs(tmp_path: Path) -> None:
    out = run_benchmark(tmp_path, "bulk_invite.py", "--rows", "300", "--backends", "sqlite")
    assert "peak memory, sqlite: " in out


def test_email_keys_differ_from_the_old_rule_only_where_it_folded(tmp_path: Path) -> None:
    out = run_benchmark(tmp_path, "email_keys.py", "--addresses", "2000")
    assert "addresses keyed differently: 100, of which with ẞ ﬁ İ xn--strae-oqa: 100" in out


def test_members_figures_agree_with_one_query_on_raw_events(tmp_path: Path) -> None:
    out = run_benchmark(
        tmp_path, "learning_activity.py", "--learners", "30", "--events", "300",
        "--backends", "sqlite",
    )  # fmt: skip
    assert "learnprog ingest" in out
    assert "members whose figures differ: 0" in out


def test_report_benchmark_runs(tmp_path: Path) -> None:
    out = run_benchmark(
        tmp_path, "reports.py", "--members", "300", "--enrollments", "1000",
        "--backends", "sqlite",
    )  # fmt: skip
    assert "CSV memory" in out


def test_skill_ratings_equal_the_plain_loops(tmp_path: Path) -> None:
    out = run_benchmark(
        tmp_path, "skills_validation.py", "--scale", "0.01", "--attempts", "2000", "--skip-oulad"
    )
    assert "largest rating difference from the loop: 0.0e+00" in out


def test_the_oulad_import_benchmark_scales_the_subset_and_runs(tmp_path: Path) -> None:
    out = run_benchmark(tmp_path, "oulad_import.py", "--scale", "0.005")
    assert "scaled OULAD: 163 registrations, 870 assessment rows" in out
    assert "learnprog / floor: " in out


@pytest.mark.postgresql
@pytest.mark.mariadb
def test_learner_writes_run_on_every_backend(tmp_path: Path) -> None:
    out = run_script(
        BENCHMARKS / "learner_writes.py", tmp_path,
        "--rows", "50", "--backends", "sqlite,postgresql,mariadb",
        env={"LEARNPROG_BENCH_POSTGRES_URL": POSTGRES_URL,
             "LEARNPROG_BENCH_MARIADB_URL": MARIADB_URL},
    )  # fmt: skip
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert set(rows) == {"sqlite", "postgresql", "mariadb"}
    unavailable = [line for line in rows.values() if "unavailable" in line]
    if unavailable and not IN_CI:
        pytest.skip("; ".join(unavailable))
    assert not unavailable, out


def test_web_pages_benchmark_runs(tmp_path: Path) -> None:
    out = run_benchmark(tmp_path, "web_pages.py", "--requests", "20", "--members", "50")
    for name in ("GET /ping (HTTP floor)", "GET /programs/{slug}, signed in", "one-click"):
        assert name in out


def test_worker_scaleout_benchmark_drains_every_message_once(tmp_path: Path) -> None:
    out = run_benchmark(
        tmp_path, "worker_scaleout.py", "--messages", "40", "--workers", "1,2",
        "--backend", "sqlite",
    )  # fmt: skip
    # the script stops with an error when a message is missing or arrived twice
    assert "workers\tseconds\tmessages/s\tx 1 worker" in out
    assert "floor: smtplib in one loop, one connection" in out
