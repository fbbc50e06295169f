"""The programme's list of loan recipients: its rows, the import, links and invitations."""
