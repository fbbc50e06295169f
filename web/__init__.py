"""The staff console: a Persian, right-to-left web front door over the same core as the bot."""
