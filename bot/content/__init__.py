"""The programme content: its model, the loader that validates it, and checks on it."""
