"""Stripe: Checkout Sessions out, verified webhook events in, and routing each event."""
