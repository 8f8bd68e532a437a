"""Rating data: a synthetic generator and bundled real ratings."""

from skem.datasets._synthetic import make_ratings
from skem.datasets._video_quality import load_video_quality

__all__ = ["load_video_quality", "make_ratings"]
