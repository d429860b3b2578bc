"""scripts/run: the repository's .venv, the caller's working directory."""

from __future__ import annotations

import subprocess
from pathlib import Path

RUN = Path(__file__).resolve().parents[2] / "scripts" / "run"


def fake_venv(tmp_path: Path) -> Path:
    """A set-up venv whose `learnprog` prints its working directory and arguments."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    learnprog = venv / "bin" / "learnprog"
    learnprog.write_text('#!/bin/sh\npwd\necho "$@"\n', encoding="utf-8")
    learnprog.chmod(0o755)
    return venv


def test_scripts_run_runs_the_command_where_it_is_called(tmp_path: Path) -> None:
    venv = fake_venv(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        [str(RUN), "invite-roster", "roster.csv"],
        cwd=elsewhere,
        env={"PATH": "/usr/bin:/bin", "VENV": str(venv)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.splitlines() == [str(elsewhere.resolve()), "invite-roster roster.csv"]


def test_scripts_run_without_arguments_runs_the_demo(tmp_path: Path) -> None:
    venv = fake_venv(tmp_path)
    done = subprocess.run(
        [str(RUN)],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "VENV": str(venv)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.splitlines() == [str(tmp_path.resolve()), "demo"]
