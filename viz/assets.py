"""The dashboard's front-end files, served from a local folder so that it works with no network.

A Solara page loads its JavaScript, CSS and fonts (the Vuetify app, RequireJS,
Font Awesome) from a CDN at run time. Solara can instead serve them from a
local cache (its "assets proxy", folder ``SOLARA_ASSETS_PROXY_CACHE_DIR``), laid
out as ``<cache>/<npm name>@<version>/<file>``. :func:`fetch_assets` fills that
folder once, at set-up time, from the npm registry (``npm pack`` when npm is
installed, else the registry's tarball over HTTPS, checked against its
published sha512); :func:`missing_assets` says what is still absent. Nothing
third-party is committed to the repository.

Which packages: every ``{{cdn}}/<name>@<version>/`` that Solara's page template
names (for the installed Vuetify major version), plus Font Awesome, read from the
installed Solara so that an upgrade of Solara asks for its own versions.

Command line: ``neuroagents dashboard --fetch-assets`` (or ``python -m viz.assets``).

Examples
--------
>>> split_spec("@widgetti/solara-vuetify-app@10.1.1")
('@widgetti/solara-vuetify-app', '10.1.1')
>>> tarball_url("@widgetti/solara-vuetify-app", "10.1.1")
'https://registry.npmjs.org/@widgetti/solara-vuetify-app/-/solara-vuetify-app-10.1.1.tgz'
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from collections.abc import Iterable
from pathlib import Path

from neuroagents.errors import NeuroagentsError

__all__ = [
    "ASSETS_ENV",
    "AssetsError",
    "asset_dir",
    "fetch_assets",
    "missing_assets",
    "required_packages",
    "split_spec",
    "tarball_url",
]

ASSETS_ENV = "NEUROAGENTS_ASSETS_DIR"
"""Environment variable that overrides where the front-end files live."""
REGISTRY = "https://registry.npmjs.org"
COMPLETE = ".neuroagents-complete"
"""Marker file written after a package was unpacked whole (a half-unpacked folder does not count)."""
FALLBACK_PACKAGES = ("@widgetti/solara-vuetify-app@10.1.1", "requirejs@2.3.6", "font-awesome@4.5.0")
"""What Solara 1.64 with Vuetify 2 asks for, used only when its template cannot be read."""
_CDN_REF = re.compile(r"\{\{\s*cdn\s*\}\}/((?:@[\w.\-]+/)?[\w.\-]+)@(\d[\w.\-+]*)/")


class AssetsError(NeuroagentsError, RuntimeError):
    """The front-end files are missing or could not be fetched."""


def split_spec(spec: str) -> tuple[str, str]:
    """``"name@version"`` (name possibly scoped, ``@scope/name``) -> ``(name, version)``."""
    name, sep, version = spec.rpartition("@")
    if not sep or not name or not version:
        raise AssetsError(f"not an npm package spec 'name@version': {spec!r}")
    return name, version


def tarball_url(name: str, version: str) -> str:
    """The registry's URL of one package version's tarball."""
    return f"{REGISTRY}/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"


def asset_dir(path: str | os.PathLike | None = None) -> Path:
    """Where the front-end files live: ``path``, else ``$NEUROAGENTS_ASSETS_DIR``, else Solara's own default.

    Solara's default is ``<sys.prefix>/share/solara/cdn``: inside the virtual environment, so a fresh environment
    needs its own fetch, and a dashboard started with ``solara run`` finds the files too.
    """
    if path is not None:
        return Path(path).expanduser().resolve()
    if os.environ.get(ASSETS_ENV):
        return Path(os.environ[ASSETS_ENV]).expanduser().resolve()
    return Path(sys.prefix) / "share" / "solara" / "cdn"


def required_packages() -> tuple[str, ...]:
    """The npm packages (``name@version``) the installed Solara's page loads from its CDN.

    Read from Solara's page template (the branch of the installed Vuetify major version) and its Font Awesome
    setting; :data:`FALLBACK_PACKAGES` if the template cannot be read.
    """
    try:
        import solara.server
        import solara.server.settings as ss
    except ImportError as exc:  # the dashboard extra is not installed
        raise AssetsError(f"the dashboard needs Solara: pip install 'neuroagents[dashboard]' ({exc})") from None
    template = Path(solara.server.__file__).parent / "templates" / "solara.html.j2"
    try:
        text = template.read_text(encoding="utf-8")
    except OSError:
        return FALLBACK_PACKAGES
    vuetify3 = _vuetify_major() >= 3
    found = []
    for name, version in _CDN_REF.findall(text):  # over CDN references in the template
        if ("vuetify3" in name) != vuetify3:
            continue
        found.append(f"{name}@{version}")
    fa = _CDN_REF.findall("{{cdn}}" + ss.assets.fontawesome_path)
    found += [f"{n}@{v}" for n, v in fa]
    return tuple(dict.fromkeys(found)) or FALLBACK_PACKAGES


def _vuetify_major() -> int:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return int(version("ipyvuetify").split(".")[0])
    except (PackageNotFoundError, ValueError):
        return 1


def missing_assets(directory: str | os.PathLike | None = None, packages: Iterable[str] | None = None) -> list[str]:
    """The packages of :func:`required_packages` not (completely) unpacked in :func:`asset_dir`."""
    root = asset_dir(directory)
    wanted = required_packages() if packages is None else tuple(packages)
    return [spec for spec in wanted if not (root / spec / COMPLETE).is_file()]


def _npm_pack(spec: str, workdir: Path) -> Path | None:
    npm = shutil.which("npm")
    if npm is None:
        return None
    done = subprocess.run(
        [npm, "pack", spec, "--silent", "--pack-destination", str(workdir)],
        cwd=workdir, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    tgz = sorted(workdir.glob("*.tgz"))
    if done.returncode != 0 or not tgz:
        raise AssetsError(f"npm pack {spec} failed: {' '.join((done.stderr or done.stdout).split())[:300]}")
    return tgz[0]


def _download(spec: str, workdir: Path) -> Path:
    """The tarball over HTTPS, checked against the registry's published sha512 (``dist.integrity``)."""
    name, version = split_spec(spec)
    try:
        with urllib.request.urlopen(f"{REGISTRY}/{name}/{version}", timeout=60) as r:
            meta = json.load(r)
        url = meta["dist"]["tarball"]
        with urllib.request.urlopen(url, timeout=300) as r:
            data = r.read()
    except (OSError, KeyError, ValueError) as exc:
        raise AssetsError(f"could not download {spec} from the npm registry: {exc}") from None
    integrity = meta["dist"].get("integrity", "")
    if integrity.startswith("sha512-"):
        got = base64.b64encode(hashlib.sha512(data).digest()).decode()
        if got != integrity[len("sha512-") :]:
            raise AssetsError(f"{spec}: the tarball's sha512 does not match the registry's integrity field")
    path = workdir / url.rsplit("/", 1)[-1]
    path.write_bytes(data)
    return path


def _unpack(tgz: Path, target: Path) -> None:
    """Unpack an npm tarball into ``target`` without its top folder (``package/``), refusing unsafe paths."""
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        with tarfile.open(tgz, "r:gz") as tar:
            members = []
            for m in tar.getmembers():  # over files in the tarball
                parts = Path(m.name).parts
                if len(parts) < 2 or not (m.isfile() or m.isdir()):
                    continue
                m = m.replace(name=str(Path(*parts[1:])))
                members.append(m)
            tar.extractall(tmp, members=members, filter="data")
        (tmp / COMPLETE).write_text(tgz.name + "\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def fetch_assets(directory: str | os.PathLike | None = None, *, force: bool = False, log=print) -> Path:
    """Download and unpack every package of :func:`required_packages` into :func:`asset_dir` (once).

    Parameters
    ----------
    directory : path-like, optional
        Where to put them (default :func:`asset_dir`).
    force : bool
        Fetch again even packages already there.
    log : callable
        Receives one line per package.

    Returns
    -------
    Path
        The folder, ready for ``SOLARA_ASSETS_PROXY_CACHE_DIR``.
    """
    root = asset_dir(directory)
    root.mkdir(parents=True, exist_ok=True)
    for spec in required_packages():  # over a handful of npm packages
        target = root / spec
        if not force and (target / COMPLETE).is_file():
            log(f"  {spec}: already in {root}")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="neuroagents-npm-") as work:
            tgz = _npm_pack(spec, Path(work)) or _download(spec, Path(work))
            _unpack(tgz, target)
        log(f"  {spec}: unpacked into {target}")
    return root


def _main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m viz.assets", description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", default=None, help=f"target folder (default: ${ASSETS_ENV} or <venv>/share/solara/cdn)")
    p.add_argument("--force", action="store_true", help="fetch again packages already there")
    p.add_argument("--check", action="store_true", help="only say what is missing (exit 1 if anything is)")
    args = p.parse_args(argv)
    try:
        if args.check:
            missing = missing_assets(args.dir)
            print(f"{asset_dir(args.dir)}: " + (f"missing {', '.join(missing)}" if missing else "complete"))
            return 1 if missing else 0
        fetch_assets(args.dir, force=args.force)
    except AssetsError as exc:
        print(f"viz.assets: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main())
