"""``neuroagents dashboard``: serve the dashboard on this machine, offline.

The command checks the scenario first (a typo is a one-line error, not a page
that fails later), checks that the front-end files are in the local asset
folder (:mod:`viz.assets`), then starts Solara's server on ``--host``/``--port``
(127.0.0.1:8765 by default) in production mode with its CDN pointed at a dead
local address, its telemetry and version check off: the page loads nothing from
outside this machine. Binding beyond localhost prints a warning: anyone who can
reach the port can run simulations on this machine.

Examples
--------
>>> import argparse
>>> p = argparse.ArgumentParser()
>>> configure(p)
>>> a = p.parse_args(["healthy", "--port", "0", "--set", "tissue.width_um=500"])
>>> a.scenario, a.host, a.port, a.set
('healthy', '127.0.0.1', 0, ['tissue.width_um=500'])
>>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
(True, True, False)
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys

from neuroagents.errors import NeuroagentsError

__all__ = ["CULL_AFTER", "DEAD_CDN", "configure", "handle", "is_loopback", "server_environment"]

CULL_AFTER = "3m"
"""How long the server keeps a session whose browser has gone (Solara's default is 24 h): its model and its memory
are freed after that; a tab that reconnects sooner finds its run where it was. ``SOLARA_KERNEL_CULL_TIMEOUT``
overrides it."""
DEAD_CDN = "http://127.0.0.1:9/npm/"
"""Where Solara would fetch a front-end file missing from the local folder: the discard port on this machine,
so a missing file fails at once (and shows in the browser's console) instead of silently reaching the internet."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def configure(p: argparse.ArgumentParser) -> None:
    """Add the ``dashboard`` subcommand's arguments."""
    p.add_argument("scenario", nargs="?", default=None,
                   help="scenario to open first: a built-in name (see 'neuroagents scenarios') or a .toml file "
                   "(default: nerve_injury); the page can switch scenarios and lessons")  # fmt: skip
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s, this machine "
                   "only; anything else is reachable from the network)")  # fmt: skip
    p.add_argument("--port", type=int, default=8765, help="port (default: %(default)s; 0 picks a free one)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario key, as in 'neuroagents run' (repeatable)")  # fmt: skip
    p.add_argument("--open", action="store_true", help="open the page in a web browser once the server is up")
    p.add_argument("--assets-dir", default=None, metavar="DIR",
                   help="folder of the front-end files (default: $NEUROAGENTS_ASSETS_DIR or "
                   "<environment>/share/solara/cdn)")  # fmt: skip
    p.add_argument("--fetch-assets", action="store_true",
                   help="download the front-end files from the npm registry into the assets folder, then exit "
                   "(once per environment, at set-up time)")  # fmt: skip
    p.add_argument("--allow-cdn", action="store_true",
                   help="start even if front-end files are missing, fetching them from the public CDN as the page "
                   "asks (needs network)")  # fmt: skip


def server_environment(assets_dir, *, allow_cdn: bool, scenario: str | None, overrides) -> dict[str, str]:
    """Environment variables for Solara's server and for each new session of :func:`viz.app.Page`."""
    from viz.controls import OVERRIDES_ENV, SCENARIO_ENV

    env = {
        "SOLARA_ASSETS_PROXY": "True",
        "SOLARA_ASSETS_PROXY_CACHE_DIR": str(assets_dir),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "SOLARA_MODE": "production",
        "SOLARA_KERNEL_CULL_TIMEOUT": os.environ.get("SOLARA_KERNEL_CULL_TIMEOUT") or CULL_AFTER,
        OVERRIDES_ENV: json.dumps(list(overrides)),
    }
    if not allow_cdn:
        env["SOLARA_ASSETS_CDN"] = DEAD_CDN
    if scenario:
        env[SCENARIO_ENV] = scenario
    return env


def handle(args: argparse.Namespace) -> int:
    """Run ``neuroagents dashboard``; returns the exit status."""
    from viz import assets

    try:
        import solara  # noqa: F401  (only to say clearly that the extra is missing)
    except ImportError:
        raise NeuroagentsError("the dashboard needs its extra: pip install 'neuroagents[dashboard]'") from None
    folder = assets.asset_dir(args.assets_dir)
    if args.fetch_assets:
        print(f"neuroagents dashboard: fetching front-end files into {folder}")
        assets.fetch_assets(folder)
        print("neuroagents dashboard: done; the dashboard now works without network access")
        return 0
    missing = assets.missing_assets(folder)
    if missing and not args.allow_cdn:
        raise NeuroagentsError(
            f"front-end files missing from {folder}: {', '.join(missing)}; run 'neuroagents dashboard "
            "--fetch-assets' once (needs the npm registry), or point --assets-dir at a copied folder, or add "
            "--allow-cdn to fetch them as the page asks"
        )
    if args.scenario or args.set:
        from neuroagents.scenario import load_scenario

        load_scenario(args.scenario or "nerve_injury", args.set)  # fail now, in one line, on a typo
    if not 0 <= args.port <= 65535:
        raise NeuroagentsError(f"--port {args.port}: must be 0..65535")
    if not is_loopback(args.host):
        print(f"neuroagents dashboard: warning: listening on {args.host}, not only on this machine: anyone who can "
              f"reach port {args.port} can open the page and run simulations here", file=sys.stderr)  # fmt: skip
    os.environ.update(server_environment(folder, allow_cdn=args.allow_cdn, scenario=args.scenario,
                                         overrides=args.set))  # fmt: skip
    return _serve(args.host, args.port, args.open)


def _serve(host: str, port: int, open_browser: bool) -> int:  # pragma: no cover - exercised by the browser tests
    import warnings

    from viz.memory import limit_arenas

    limit_arenas()  # before any thread starts: few malloc arenas, so closed sessions' memory is reused (viz.memory)

    import solara.server.settings
    from solara.__main__ import run

    # read when a session is culled; set here too in case Solara's settings were loaded before the environment
    solara.server.settings.kernel.cull_timeout = os.environ.get("SOLARA_KERNEL_CULL_TIMEOUT") or CULL_AFTER
    # Solara warns on each page load served over plain http to a host other than "localhost" that it falls back
    # to samesite=lax cookies; that is what a local dashboard wants, so the warning is noise here.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https", category=UserWarning)

    argv = ["viz.app", "--host", host, "--port", str(port), "--production", "--no-check-version",
            "--open" if open_browser else "--no-open", "--log-level-uvicorn", "warning"]  # fmt: skip
    print(f"neuroagents dashboard: http://{host}:{port} (Ctrl-C stops it)", flush=True)
    try:
        run.main(args=argv, standalone_mode=False)
    except KeyboardInterrupt:
        pass
    return 0
