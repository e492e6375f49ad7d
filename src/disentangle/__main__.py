"""``python -m disentangle <command>``: the entry point every workflow rule runs.

First, before the heavy imports (pandas, torch) take their seconds, the process arranges to die
with its parent and to exit cleanly on SIGTERM (``disentangle.runtime``): a job Snakemake kills
must not leave its trainer running and writing outputs behind Snakemake's back.
"""

import os

_PARENT = os.getppid()  # as early as possible: a parent that dies after this line is noticed

from disentangle.runtime import die_with_parent, exit_on_sigterm  # noqa: E402 (light: ctypes, os)

exit_on_sigterm()
die_with_parent(_PARENT)

from disentangle.cli import main  # noqa: E402

main()
