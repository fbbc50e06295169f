"""The console's pages: each module adds its routes with ``setup(app)``."""
