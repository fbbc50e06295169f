"""`python -m bot`: the same as the `homebiz` command."""

import sys

from bot.entry.cli import main

sys.exit(main())
