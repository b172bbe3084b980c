"""neuroagents: an agent-based tissue simulator of neuro-immune interactions in chronic pain."""


def _version() -> str:
    """The version setuptools-scm wrote at install (from the git tag), else the installed metadata's."""
    try:
        from neuroagents._version import version
    except ImportError:  # a source tree on sys.path that was never installed
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as installed

        try:
            return installed("neuroagents")
        except PackageNotFoundError:
            return "0.0.0+unknown"  # neither built nor installed: no version to name
    return version


__version__ = _version()
