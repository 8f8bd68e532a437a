"""How the estimator's parameters become a model form and a score scale.

:class:`_ModelSetup` is a base of :class:`skem._em.driver._BaseEM`: the driver
runs EM, and these methods read ``bounded``, ``noise``, ``bias``, ``tail``,
``levels``, ``score_range``, ``score_scale`` and ``min_sigma`` into what it
runs EM on.
"""

from skem._em.parameters import _AUTO_TAILS
from skem._em.score_range import _resolve_log_score_range, _resolve_score_range
from skem._model.form import _model_form

# min_sigma="auto" is this fraction of the width of the score range; it scales
# with the scores, so the fit is invariant to affine changes of the scale.
_AUTO_MIN_SIGMA_FRACTION = 1e-3

# An explicit min_sigma below this fraction of the score range would let a
# truncated normal's standardized bounds reach 1e8, where squaring them loses
# every digit of the log density.
_MIN_SIGMA_FRACTION_FLOOR = 1e-8


class _ModelSetup:
    """The model form and the score scale of an estimator's parameters."""

    def _form(self, min_sigma, scale, tail):
        """The model form on ``scale``, with ``tail`` degrees of freedom or normal."""
        if self.tail is not None and self.bounded:
            what = (
                "chooses among the normal and Student-t good components"
                if isinstance(self.tail, str)
                else "is a Student-t good component"
            )
            raise ValueError(
                f"tail={self.tail!r} {what} on the whole real line: it needs "
                "bounded=False."
            )
        return _model_form(
            self.bounded,
            self.noise,
            self.bias,
            self.noise_prior,
            min_sigma,
            self._hard,
            scale.levels is not None,
            tail,
        )

    def _forms(self, scale, warm):
        """The model forms a fit on ``scale`` runs EM in: one per tail it tries."""
        min_sigma = self._resolve_min_sigma(scale)
        return [
            self._form(min_sigma, scale, tail) for tail in self._tail_candidates(warm)
        ]

    def _is_warm_fit(self):
        """Whether this fit is a warm start: ``warm_start`` on a fitted estimator.

        Not when ``tail='auto'`` searches its grid again (after a fit of
        another tail): a search starts each tail cold. Nor after a fit on the
        other ``score_scale``, whose sigmas and biases are in other units, or
        of another ``tail``: a t's scale is not a normal's standard deviation
        (on whole-number ratings a t's falls to its floor).
        """
        fitted = self.warm_start and hasattr(self, "converged_")
        if fitted and self._score_scale.log != (self.score_scale == "log"):
            return False
        candidates = self._tail_candidates(fitted)
        return fitted and candidates == (self.tail_,)

    def _tail_candidates(self, warm):
        """The degrees of freedom a fit tries: ``tail``, or the grid of 'auto'.

        A warm start of ``tail='auto'`` goes on with the tail that the last
        fit chose from the grid; after a fit of another ``tail`` it tries the
        grid.
        """
        if not (isinstance(self.tail, str) and self.tail == "auto"):
            return (self.tail,)
        return (self.tail_,) if warm and self._tail_chosen else _AUTO_TAILS

    def _resolve_scale(self, scores):
        """The score scale of the training ratings ``scores`` (or their levels)."""
        levels = self.levels
        if self.score_scale == "log":
            if levels is not None and not isinstance(levels, str):
                raise ValueError(
                    "levels are evenly spaced scores, which score_scale='log' "
                    "does not read: it fits the logarithms of the ratings as "
                    "exact scores. Leave levels='auto', or use "
                    "score_scale='linear'."
                )
            return _resolve_log_score_range(self.score_range, scores)
        if not self.bounded:
            if levels is not None and not isinstance(levels, str):
                raise ValueError(
                    "levels are read by the bounded forms only: with "
                    "bounded=False the ratings are exact scores. Use "
                    "bounded=True, or levels='auto'."
                )
            levels = None
        return _resolve_score_range(self.score_range, scores, levels)

    def _stated_levels(self, scale):
        """The fitted levels if the user gave them explicitly, else None.

        New ratings must then be among them, as the training ratings were;
        levels found from the data may grow with new ratings.
        """
        if self.levels is None or isinstance(self.levels, str):
            return None
        return scale.level_values()

    def _resolve_min_sigma(self, scale):
        """``min_sigma`` in unit score space."""
        if self.min_sigma == "auto":
            return _AUTO_MIN_SIGMA_FRACTION
        min_sigma = float(self.min_sigma) / scale.width
        if not _MIN_SIGMA_FRACTION_FLOOR <= min_sigma < 1.0:
            raise ValueError(
                f"min_sigma={self.min_sigma:g} does not suit the score range "
                f"({scale.low:g}, {scale.high:g}): it must be at least "
                f"{_MIN_SIGMA_FRACTION_FLOOR:g} times its width and less than "
                "its width."
            )
        return min_sigma
