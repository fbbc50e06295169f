"""The database: the connection, turns and transactions, and the versioned migrations."""
