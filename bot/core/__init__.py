"""The core every part uses: settings, clock, words and dates, validation, logging, files."""
