"""Pure programme rules: eligibility, stages, and the follow-up schedule."""
