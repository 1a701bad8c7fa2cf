"""Logging of the command line, set up once per command from ``smartfactory``'s -v and -q.

Modules log with ``logger = logging.getLogger(__name__)``; this decides what reaches stderr
(stdout stays for the command's output, ``--json`` included):

- default: smartfactory's INFO and up, other libraries' WARNING and up;
- ``-q``: WARNING and up only, and no progress bars or status lines;
- ``-v``: smartfactory's DEBUG too; ``-vv``: every library's DEBUG as well.
"""

from __future__ import annotations

import logging

FORMAT = "%(levelname)s %(name)s: %(message)s"
VERBOSE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_HANDLER = "smartfactory-cli"
_quiet = False


def configure(verbose: int = 0, quiet: bool = False) -> None:
    """Send log records to stderr at the level the options ask for (again: replaces the last setup)."""
    global _quiet
    _quiet = quiet and not verbose
    level = logging.WARNING if _quiet else logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler()  # the current sys.stderr
    handler.set_name(_HANDLER)
    handler.setFormatter(logging.Formatter(VERBOSE_FORMAT if verbose else FORMAT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER]:
        root.removeHandler(old)
    root.addHandler(handler)
    # libraries (asyncua, aiomqtt, uvicorn) log much at INFO: only -vv shows theirs
    root.setLevel(logging.DEBUG if verbose > 1 else logging.WARNING)
    logging.getLogger("smartfactory").setLevel(level)


def progress_shown() -> bool:
    """Whether progress bars and live status lines are shown (not under ``-q``)."""
    return not _quiet
