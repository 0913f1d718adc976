"""Everything that ships to Lambda: configuration, models and the store's domain logic."""
