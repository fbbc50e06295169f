"""homebiz-bot: core/ (settings, words, dates), content/, rules/, db/ and repo/ (storage),
messengers/ (Telegram and Bale), staffdesk/ (reports and exports), entry/ (commands, runner)."""

import os
import warnings

# PTB 22 warns on every int-valued duration (e.g. RetryAfter.retry_after) unless this is set;
# opting in makes those durations timedelta everywhere, in production and tests alike.
os.environ.setdefault("PTB_TIMEDELTA", "true")

# Turns send through Bot.do_api_request to keep a call's answer as JSON: nothing reads the
# Message object PTB would build from it, and building one costs more than the call. PTB warns
# that the typed method exists; that is known and chosen here (see handlers/turn.py).
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.[a-zA-Z]+' instead of 'Bot\.do_api")
