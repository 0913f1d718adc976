"""`bull`'s commands, one module per group; `bull_chalice.cli` registers them."""
