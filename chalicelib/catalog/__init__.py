"""What the store sells: products, their prices and their files."""
