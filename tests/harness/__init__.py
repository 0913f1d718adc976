"""Test harness: moto's gaps for the deploy rehearsal, filled with moto's own backends."""
