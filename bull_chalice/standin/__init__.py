"""A small local stand-in for Stripe, for `make run` and the integration tests.

It answers the API calls the store makes (Checkout Session create and retrieve, refunds,
webhook endpoints) the way the real `stripe` library expects, serves each session's `url` as
a pay page with a "Pay" button, and on payment delivers a signed `checkout.session.completed`
to the store's webhook exactly as Stripe would. Refunds deliver a signed `charge.refunded`. The
pay page takes the demo promotion codes (`LAUNCH20`, `FREE100`) when the session allows them,
collects a billing address when the session requires one, and adds a stand-in tax (one fixed
rate, marked as such) when `automatic_tax` is on. It is a test double, not a Stripe clone: one
process, in memory; it refuses the session parameters Stripe would refuse
(`checks.session_refusal`) and validates little else. `api.StripeApi` is what it does,
`pay_page` and `server` its HTTP side, `python -m bull_chalice.stripe_standin` runs it.
"""
