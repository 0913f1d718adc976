"""`python -m bull_chalice.stripe_standin PORT WEBHOOK_URL`: the Stripe stand-in
(`bull_chalice.standin`) in the foreground, as the local stack spawns it."""

from bull_chalice.standin.server import main

if __name__ == "__main__":
    main()
