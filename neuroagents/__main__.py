"""``python -m neuroagents``: the same as the ``neuroagents`` command."""

from neuroagents.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
