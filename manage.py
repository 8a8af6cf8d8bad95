#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import gc
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalsite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
    # The process is about to exit: spare the collector its last pass over every object
    # (half a second after an analysis, a sixth of a small one; the OS frees the memory).
    gc.freeze()


if __name__ == "__main__":
    main()
