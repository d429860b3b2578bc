"""Every ```python block of README.md and docs/*.md runs.

Each page's blocks run in order, in one namespace, in a fresh temporary directory (so files a
snippet writes, ``roster.csv`` or ``report.zip``, and ``tempfile`` folders land there). A page
whose text holds the marker ``<!-- docs-test: continues README.md -->`` runs after the
README's blocks, in the same namespace: its examples continue the README's quick start. A
block whose first line is a comment starting ``# not run:`` (with the reason) is skipped; use
it sparingly.
"""

from __future__ import annotations

import re
import sys
import tempfile
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
CONTINUES = "<!-- docs-test: continues README.md -->"
NOT_RUN = "# not run:"


def pages() -> list[Path]:
    """README.md and every page of docs/, in name order."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks(page: Path) -> list[tuple[int, str]]:
    """The page's python blocks that run, each with the line it starts on."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in BLOCK.finditer(text):
        code = match.group(1)
        if code.lstrip().startswith(NOT_RUN):
            continue
        found.append((text.count("\n", 0, match.start(1)) + 1, code))
    return found


def run_page(page: Path, namespace: dict[str, object]) -> None:
    """Run the page's blocks in ``namespace``; a failure names the page and the block's line."""
    for line, code in blocks(page):
        name = f"{page.relative_to(ROOT)}:{line}"
        # a block's own line numbers appear in tracebacks, offset to the page's lines
        compiled = compile("\n" * (line - 1) + code, name, "exec")
        exec(compiled, namespace)


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.name)
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # mkdtemp() folders land here too
    monkeypatch.delenv("LEARNPROG_SECRET_KEY", raising=False)
    module = types.ModuleType("learnprog_docs_example")  # dataclasses look their module up
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace: dict[str, object] = module.__dict__
    text = page.read_text(encoding="utf-8")
    try:
        if page.name != "README.md" and CONTINUES in text:
            run_page(ROOT / "README.md", namespace)
        run_page(page, namespace)
    finally:
        lp = namespace.get("lp")
        close = getattr(lp, "close", None)
        if callable(close):
            close()


def test_the_harness_finds_blocks() -> None:
    readme = blocks(ROOT / "README.md")
    assert readme, "the README has no python example"
    assert all(code.strip() for _, code in readme)


def test_the_readme_runs_twice_in_one_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader may run the quick start again where they ran it: what it left must not matter."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # mkdtemp() folders land here too
    monkeypatch.delenv("LEARNPROG_SECRET_KEY", raising=False)
    for run in range(2):
        module = types.ModuleType(f"learnprog_docs_example_{run}")
        monkeypatch.setitem(sys.modules, module.__name__, module)
        namespace: dict[str, object] = module.__dict__
        try:
            run_page(ROOT / "README.md", namespace)
        finally:
            close = getattr(namespace.get("lp"), "close", None)
            if callable(close):
                close()
