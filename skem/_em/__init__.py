"""The EM driver, its backend of item blocks, the ratings and their validation."""
