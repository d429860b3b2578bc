"""Helpers for the tests that run the examples: where they are, and optional dependencies."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import learnprog
from tests.conftest import IN_CI

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def require(module: str) -> ModuleType:
    """Import an optional dependency of the examples, or skip (fail with ``CI=true``)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        message = f"{module} is missing ({exc}); pip install -e '.[notebook]'"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def example_env(**extra: str) -> dict[str, str]:
    """The environment for a process running an example: it imports this learnprog."""
    package_root = str(Path(learnprog.__file__).resolve().parents[1])
    paths = [package_root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), **extra}


def run_script(
    script: Path, cwd: Path, *args: str, timeout: float = 300, env: dict[str, str] | None = None
) -> str:
    """Run ``script`` with this Python in ``cwd`` and return what it printed.

    ``env`` adds to the environment :func:`example_env` gives.

    Raises:
        AssertionError: the script exited with an error; the message is its standard error.
    """
    done = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=cwd,
        env=example_env(**(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
