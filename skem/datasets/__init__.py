"""Rating data: a synthetic generator and bundled real ratings."""

from skem.datasets._synthetic import make_ratings

__all__ = ["make_ratings"]
