"""The exit statuses of the ``neuroagents`` command, shared by its subcommands."""

EXIT_OK = 0
EXIT_USAGE = 2
"""Bad options, bad values, an unavailable backend: anything the user can fix."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT), after what was computed has been saved."""
