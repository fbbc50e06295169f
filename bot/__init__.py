"""homebiz-bot core: configuration, storage, domain rules, content and the application."""

import os

# PTB 22 warns on every int-valued duration (e.g. RetryAfter.retry_after) unless this is set;
# opting in makes those durations timedelta everywhere, in production and tests alike.
os.environ.setdefault("PTB_TIMEDELTA", "true")
