"""Commands for the local stack (filled in by the local-stack work)."""

COMMANDS: list = []
