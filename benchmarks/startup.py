"""Start-up time: ``import learnprog`` and two commands, beside importing SQLAlchemy and click.

Prints, each the median of ``--runs`` runs in fresh processes (the commands and the baseline
taken in turn in each round, so they share the machine's load):

- the baseline: ``python -c "import sqlalchemy, click"``, what any SQL command of learnprog
  needs at least;
- ``python -c "import learnprog"``;
- ``learnprog --version``;
- ``learnprog program list`` on a SQLite file with one organization and one program (made
  first, at the newest revision, so no migration runs);

as wall time and CPU time (user + system) and their ratio to the baseline's (target: within
1.5x). Then ``python -X importtime`` totals of ``import learnprog`` and of the listing: the
time and module count, and the top-level packages by their own import time.

With ``--before-src DIR`` (a checkout's ``src``, such as ``/work/main/src``) the commands
are also run on that code (put first on ``PYTHONPATH``), in the same rounds: a before and
after measured together. Every process reads cached bytecode (``PYTHONPYCACHEPREFIX`` in a
temporary folder, filled by a warm-up run), as an installed package does, whatever
``PYTHONDONTWRITEBYTECODE`` says. Figures only; nothing is asserted.

    python benchmarks/startup.py [--runs 15] [--before-src ../main/src]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1.5
"""The target: a command within this many times the baseline's time."""

IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


def learnprog_command() -> list[str]:
    """How to run the ``learnprog`` console script of this interpreter."""
    script = Path(sys.executable).with_name("learnprog")
    if script.exists():
        return [sys.executable, str(script)]
    return [sys.executable, "-c", "import sys; from learnprog.cli import main; sys.exit(main())"]


def environment(folder: Path, src: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(folder / ("pycache-before" if src else "pycache"))
    env.pop("LEARNPROG_DB", None)
    if src:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    return env


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Run ``argv``; return its wall time and CPU time (user + system) in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def importtime(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int, list[str]]:
    """``-X importtime`` of ``argv``: total ms, module count and the top packages' lines."""
    done = subprocess.run(
        [argv[0], "-X", "importtime", *argv[1:]],
        env=env,
        cwd=cwd,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    packages: dict[str, int] = {}
    total = count = 0
    for line in done.stderr.splitlines():
        match = IMPORTTIME.match(line)
        if match is None:
            continue
        own, cumulative, indent, name = int(match[1]), int(match[2]), match[3], match[4]
        count += 1
        top = name.split(".")[0]
        packages[top] = packages.get(top, 0) + own
        if indent == " ":  # imported by the command itself
            total += cumulative
    ranked = sorted(packages.items(), key=lambda item: -item[1])[:8]
    return total / 1000, count, [f"{name} {us / 1000:.0f}" for name, us in ranked]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (median)")
    parser.add_argument("--before-src", help="a checkout's src folder to measure as well")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        lp = learnprog_command()
        db = ["--db", f"sqlite:///{folder / 'one.db'}"]
        env = environment(folder, None)
        setup = [
            [*db, "init", "Acme", "--domain", "acme.example", "--admin-name", "Ana",
             "--admin-email", "ana@acme.example"],
            [*db, "program", "create", "Academy", "--org", "Acme", "--as", "ana@acme.example"],
        ]  # fmt: skip
        for command in setup:
            subprocess.run([*lp, *command], env=env, cwd=folder, check=True, capture_output=True)
        listing = [*db, "program", "list", "--org", "Acme", "--as", "ana@acme.example"]
        cases: dict[str, tuple[list[str], dict[str, str]]] = {
            "import sqlalchemy, click (baseline)": (
                [sys.executable, "-c", "import sqlalchemy, click"],
                env,
            ),
            "import learnprog": ([sys.executable, "-c", "import learnprog"], env),
            "learnprog --version": ([*lp, "--version"], env),
            "learnprog program list": ([*lp, *listing], env),
        }
        if args.before_src:
            before = environment(folder, args.before_src)
            cases |= {
                f"{name} (before)": (argv, before) for name, (argv, _) in list(cases.items())[1:]
            }
        for argv, case_env in cases.values():  # warm-up: bytecode cached, files made
            timed(argv, case_env, folder)
        walls: dict[str, list[float]] = {name: [] for name in cases}
        cpus: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, (argv, case_env) in cases.items():
                wall, cpu = timed(argv, case_env, folder)
                walls[name].append(wall)
                cpus[name].append(cpu)

        base_wall = statistics.median(next(iter(walls.values())))
        base_cpu = statistics.median(next(iter(cpus.values())))
        print(f"median of {args.runs} runs; target: within {TARGET:g}x of the baseline")
        print(f"{'':44} {'wall s':>7} {'ratio':>6} {'cpu s':>7} {'ratio':>6}")
        for name in cases:
            wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
            print(
                f"{name:44} {wall:7.3f} {wall / base_wall:5.2f}x {cpu:7.3f} {cpu / base_cpu:5.2f}x"
            )

        print("\npython -X importtime (one run each): total ms, modules, top packages (own ms)")
        shown = {
            "import sqlalchemy, click": cases["import sqlalchemy, click (baseline)"],
            "import learnprog": cases["import learnprog"],
            "learnprog program list": cases["learnprog program list"],
        }
        if args.before_src:
            shown["import learnprog (before)"] = cases["import learnprog (before)"]
            shown["learnprog program list (before)"] = cases["learnprog program list (before)"]
        for name, (argv, case_env) in shown.items():
            total, count, top = importtime(argv, case_env, folder)
            print(f"{name:32} {total:7.0f} ms {count:4d} modules: {', '.join(top)}")


if __name__ == "__main__":
    main()
