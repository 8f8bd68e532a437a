"""Plots of a fitted model (needs matplotlib: ``pip install matplotlib``)."""

from skem.plotting._plots import (
    plot_annotator_reliability,
    plot_consensus,
    plot_convergence,
)

__all__ = ["plot_annotator_reliability", "plot_consensus", "plot_convergence"]
