"""Where the store runs: its settings, its AWS clients, its tables and their transactions."""
