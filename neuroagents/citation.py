"""How to cite neuroagents, as ``CITATION.cff`` says, for manifests and ``neuroagents info``.

``CITATION.cff`` at the top of the repository is the source; the package ships a copy
(``neuroagents/CITATION.cff``, package data, kept identical by a test) so that an installed neuroagents can read
it without the repository. Only the file's simple top-level fields are read (``title``, ``message``, ``license``,
``doi``, ``url``, ``repository-code``, ``version`` and the ``authors`` list): a small reader of that subset of
YAML, so that no YAML library is needed. CITATION.cff carries no version (it would be wrong for every commit but
the tagged one): the version cited is the one running, ``neuroagents.__version__``, with the git commit when the
code runs from a checkout.

Examples
--------
>>> c = citation()
>>> c["title"].startswith("neuroagents: "), c["authors"]
(True, ['neuroagents developers'])
>>> read_cff('title: "x"\\nauthors:\\n  - family-names: Doe\\n    given-names: Jane\\ndoi: 10.1/x\\n')["authors"]
['Jane Doe']
"""

from __future__ import annotations

import re
from importlib import resources

__all__ = ["CFF_FILE", "citation", "read_cff"]

CFF_FILE = "CITATION.cff"
"""Name of the citation file, in the repository's top folder and in the package."""
_SCALARS = ("title", "message", "license", "doi", "url", "repository-code", "version", "date-released")
_KEY = re.compile(r"^([A-Za-z][\w-]*):[ \t]*(.*)$")


def _scalar(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _author(entry: dict) -> str:
    if entry.get("name"):
        return entry["name"]
    return " ".join(p for p in (entry.get("given-names"), entry.get("name-particle"), entry.get("family-names")) if p)


def read_cff(text: str) -> dict:
    """The top-level fields of a ``CITATION.cff`` text that a citation needs, and its authors as names.

    Parameters
    ----------
    text : str
        The file's content (YAML; only plain and quoted scalars, ``>-`` folded blocks and the ``authors`` list of
        mappings are read; other fields are skipped).

    Returns
    -------
    dict
        ``{field: str}`` for the fields of ``_SCALARS`` present, and ``authors``: list of str.
    """
    out: dict = {"authors": []}
    lines = text.splitlines()
    i = 0
    while i < len(lines):  # over top-level entries
        m = _KEY.match(lines[i])
        i += 1
        if not m:
            continue
        key, value = m.group(1), m.group(2).strip()
        block = []
        while i < len(lines) and (lines[i].startswith((" ", "\t")) or not lines[i].strip()):  # its indented lines
            block.append(lines[i])
            i += 1
        if key == "authors":
            entries: list[dict] = []
            for line in block:  # over the author lines: "  - key: value" starts an entry
                item = line.strip()
                if item.startswith("- "):
                    entries.append({})
                    item = item[2:]
                km = _KEY.match(item)
                if km and entries:
                    entries[-1][km.group(1)] = _scalar(km.group(2))
            out["authors"] = [a for a in map(_author, entries) if a]
        elif key in _SCALARS:
            folded = value in (">", ">-", "|", "|-")
            out[key] = " ".join(ln.strip() for ln in block if ln.strip()) if folded else _scalar(value)
    return out


def citation() -> dict:
    """How to cite the neuroagents that is running: CITATION.cff's fields, with this version and commit.

    Returns
    -------
    dict
        ``title``, ``version`` (``neuroagents.__version__``), ``git`` (the commit, or None outside a checkout),
        ``authors`` (list of str), ``license``, ``doi`` and ``url`` (None when CITATION.cff gives none),
        ``message`` and ``source`` (the file it was read from).
    """
    import neuroagents
    from neuroagents.checkpoint import code_identity

    text = resources.files("neuroagents").joinpath(CFF_FILE).read_text(encoding="utf-8")
    cff = read_cff(text)
    return {
        "title": cff.get("title"),
        "version": neuroagents.__version__,
        "git": code_identity()["git"],
        "authors": cff["authors"],
        "license": cff.get("license"),
        "doi": cff.get("doi"),
        "url": cff.get("url") or cff.get("repository-code"),
        "message": cff.get("message"),
        "source": f"{CFF_FILE} of the neuroagents package",
    }
