"""Entry points: the `homebiz` command, the runner, the console, and the composition root."""
