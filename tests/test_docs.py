"""The README stays one page that links every docs page, and the docs site builds strictly."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from gateway.cli import cli

ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 250


def readme() -> str:
    """The README's text."""
    return (ROOT / "README.md").read_text()


def nav_pages() -> set[str]:
    """The pages mkdocs.yml's nav lists, relative to docs/."""
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    return {page for entry in nav for page in entry.values()}


def doc_pages() -> set[str]:
    """The Markdown pages under docs/, pending notes left out."""
    return {str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md")
            if "pending" not in p.parts}


def test_readme_fits_on_a_page() -> None:
    assert len(readme().splitlines()) <= README_MAX_LINES


def test_readme_starts_with_the_two_commands() -> None:
    first_block = readme().split("```")[1]
    assert re.search(r"^make run\b", first_block, re.M)
    assert re.search(r"^make test\b", first_block, re.M)


def test_every_docs_page_is_in_the_nav_and_linked_from_the_readme() -> None:
    assert doc_pages() == nav_pages()
    linked = set(re.findall(r"\]\(docs/([\w-]+\.md)", readme()))
    assert nav_pages() <= linked, nav_pages() - linked


def test_readme_lists_every_command() -> None:
    text = readme()
    for name, command in cli.commands.items():
        assert f"`leadgate {name}" in text, name
        for sub in getattr(command, "commands", {}):
            assert re.search(rf"`leadgate {name}[^`]*\b{sub}\b", text), f"{name} {sub}"


def test_docs_build_strictly(tmp_path: Path) -> None:
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                            "--site-dir", str(tmp_path)],
                           cwd=ROOT, capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr
    assert (tmp_path / "console" / "index.html").exists()
