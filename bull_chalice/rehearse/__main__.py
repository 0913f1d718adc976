"""`python -m bull_chalice.rehearse --port P --task DIR --sam FILE [--base-path /api]`."""

from bull_chalice.rehearse.front import main

main()
