"""The seller's side: who may sign in, and what the admin API shows and does."""
