"""Every Markdown file the repository names exists in it: citations such as ``docs/references.md`` resolve."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUFFIXES = {".py", ".toml", ".md", ".cff", ".vue", ".cfg", ".txt"}
MENTION = re.compile(r"(?<![\w/.:-])((?:\.\./)*[\w.-]+(?:/[\w.-]+)*\.md)\b")
"""A relative path to a Markdown file: ``docs/pain.md``, ``../docs/validation.md``, ``references.md``."""


def _text_files() -> list[Path]:
    if (ROOT / ".git").exists() and shutil.which("git"):
        done = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                              capture_output=True, check=True)  # fmt: skip
        paths = [ROOT / f for f in done.stdout.decode().split("\0") if f]
    else:
        skip = {".git", ".venv", "runs", "build", "dist", "node_modules"}
        paths = [p for p in ROOT.rglob("*") if not skip & set(p.relative_to(ROOT).parts)]
    return sorted(p for p in paths if p.suffix in SUFFIXES and p.is_file() and p != Path(__file__).resolve())


def _mentions() -> list[tuple[str, int, str]]:
    found = []
    for path in _text_files():  # over the repository's text files
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            found += [(str(path.relative_to(ROOT)), n, m) for m in MENTION.findall(line)]
    return found


def test_the_literature_table_is_in_the_repository():
    text = (ROOT / "docs" / "references.md").read_text(encoding="utf-8")
    for heading in ("## Conversions", "## Mediators", "## Cells", "## Receptors, pathways, drug targets",
                    "## Published outcomes", "## Publications"):  # fmt: skip  # sections the code cites by name
        assert f"\n{heading}\n" in text, heading


def test_docs_paths_cited_in_the_code_exist():
    cited = [(f, n, m) for f, n, m in _mentions() if m.startswith("docs/")]
    assert any(m == "docs/references.md" for _, _, m in cited)
    missing = [f"{f}:{n}: {m}" for f, n, m in cited if not (ROOT / m).is_file()]
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("name", ["parameters.md", "DESIGN.md"])
def test_no_citation_of_files_the_repository_does_not_hold(name):
    hits = [f"{f}:{n}" for f, n, m in _mentions() if Path(m).name == name]
    assert not hits, f"{name} is cited but not in the repository: {', '.join(hits)}"


def test_every_markdown_path_named_resolves():
    """Links in Markdown files, and paths with a folder elsewhere (``docs/pain.md``; a bare ``"pain.md"`` in code
    is often a path part), resolve relative to the naming file's folder or to the repository root."""
    missing = [f"{f}:{n}: {m}" for f, n, m in _mentions() if (f.endswith(".md") or "/" in m)
               and not ((ROOT / f).parent / m).is_file() and not (ROOT / m).is_file()]  # fmt: skip
    assert not missing, "\n".join(missing)
