"""One self-contained HTML page that explains a fit in plain words."""

import html

import numpy as np

from skem._io.figures import (
    _annotator_figures,
    _consensus_figure,
    _reliability_figure,
)
from skem._io.files import _write_atomically
from skem._io.html import (
    _badge,
    _import_matplotlib,
    _named,
    _plural,
    _text,
    _version,
)
from skem._io.labels import _annotator_labels, _item_labels, _unpack_rating_matrix
from skem._io.notes import (
    _few_raters_note,
    _heavy_tail_note,
    _relative_error_note,
    _same_score_note,
    _yes_no_note,
)
from skem._io.report_tables import _annotator_html_table, _item_html_table
from skem._io.results import (
    _annotator_table,
    _item_table,
    _levels,
    _page_fit,
    _scale_ends,
)
from skem._io.template import PAGE
from skem._io.verdicts import (
    CONSISTENT_FROM,
    OFFSET_AGREEMENT,
    RANDOM_BELOW,
    TOO_FEW_RATINGS,
    _model_words,
    _prior_weight_words,
    _random_but_agreeing,
    _random_weight_words,
    _share,
    _unjudged_groups,
)
from skem._io.widest import WIDE_FACTOR, _half_width, _is_wide, _widest
from skem._io.words import count, number
from skem._model.evidence import MIN_JUDGED_RATINGS
from skem._model.intervals import _compute_consensus_interval

# At most this many flagged annotators are listed with their reasons.
MAX_LISTED = 50


def report(
    estimator,
    path,
    X=None,
    *,
    items=None,
    annotators=None,
    item_name="item",
    annotator_name="annotator",
    title=None,
    level=0.95,
):
    """Write a self-contained HTML page that explains a fit in plain words.

    The page says who was flagged and why, shows each annotator's
    reliability, the consensus of each item with its interval on the scale's
    own levels, each annotator's inconsistency and, if estimated, bias (the
    names of ITU-T P.913 and ITU-R BT.500), the model form and the fit's
    convergence, and what to do next. It is one file: the figures are
    embedded PNG images, the style is inline, and it opens offline.

    Parameters
    ----------
    estimator : AnnotatorEM, HardAnnotatorEM or a Dask estimator
        A fitted estimator. A fit of :class:`skem.dask.DaskAnnotatorEM` (or
        :class:`~skem.dask.DaskHardAnnotatorEM`) is brought into memory
        (:meth:`~skem.dask.DaskAnnotatorEM.to_in_memory`), its items labelled
        as there; without ``X`` the page gives the rating counts the fit
        kept, but not the agreement, which needs the ratings.
    path : str or path-like
        The HTML file to write, in an existing folder. It is written whole
        or not at all: a failure leaves no half-written file, and an
        existing file is replaced only by a complete page.
    X : {array-like, sparse matrix} of shape (n_items, n_annotators) or \
RatingMatrix, default=None
        The training ratings. With them the page gives each annotator's
        number of ratings and agreement with the consensus (Pearson's ``r``),
        and each item's number of ratings. A :class:`~skem.RatingMatrix`
        (``long_to_matrix``'s) gives the labels too, unless ``items`` or
        ``annotators`` are given. For a Dask fit, ``long_to_matrix(frame,
        annotators=em.annotators_)`` of the ratings in memory.
    items : array-like of shape (n_items,), default=None
        Item labels, for example ``long_to_matrix(...).items``; if None, the
        index of a DataFrame ``X``, else the row numbers.
    annotators : array-like of shape (n_annotators,), default=None
        Annotator labels; if None, ``feature_names_in_``, else the columns of
        a DataFrame ``X``, else the column numbers.
    item_name, annotator_name : str, default='item', 'annotator'
        What an item and an annotator are called on the page, for example
        ``"video"`` and ``"subject"``.
    title : str, default=None
        Title of the page; one naming the estimator and the data if None.
    level : float, default=0.95
        Coverage of the items' confidence intervals, in (0, 1), as in
        :func:`consensus_frame` (the command's ``--level``).

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    ImportError
        If matplotlib is not installed (``pip install matplotlib``).
    RuntimeError
        If the estimator is a Dask fit whose client has closed, with its
        consensus (:meth:`~skem.dask.DaskAnnotatorEM.to_in_memory`).
    ValueError
        If ``items``, ``annotators`` or ``X`` do not match the fit, or
        ``level`` is not in (0, 1).

    See Also
    --------
    consensus_frame : The consensus of each item, as a table.
    annotator_frame : The reliability of each annotator, as a table.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skem import AnnotatorEM, report
    >>> from skem.datasets import load_video_quality
    >>> nflx = load_video_quality()
    >>> em = AnnotatorEM(score_range=nflx.score_range).fit(nflx.data)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     page = report(em, Path(folder) / "report.html", nflx.data,
    ...                   items=nflx.item_labels, annotators=nflx.annotators,
    ...                   item_name="clip", annotator_name="viewer")
    ...     text = page.read_text(encoding="utf-8")
    >>> "answers look random: 79 ratings" in text
    True
    """
    page = _report_page(
        estimator,
        X,
        items=items,
        annotators=annotators,
        item_name=item_name,
        annotator_name=annotator_name,
        title=title,
        level=level,
    )
    return _write_atomically(path, page)


def _report_page(
    estimator, X, *, items, annotators, item_name, annotator_name, title, level=0.95
):
    """The HTML text of :func:`report`'s page, checked and built, not written."""
    figure_class = _import_matplotlib()
    for what, name in (("item_name", item_name), ("annotator_name", annotator_name)):
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{what} must be a non-empty string; got {name!r}.")
    if title is not None and not isinstance(title, str):
        raise ValueError(f"title must be a string; got {title!r}.")
    items, ratings = _unpack_rating_matrix(items, X, "items")
    annotators, _ = _unpack_rating_matrix(annotators, X, "annotators")
    X = ratings
    estimator, items, annotators, evidence = _page_fit(estimator, X, items, annotators)
    names = (item_name, annotator_name)
    content = _Content(estimator, X, items, annotators, names, level, evidence)
    page = PAGE.substitute(
        version=html.escape(_version()),
        title=html.escape(title or content.default_title()),
        item_word=html.escape(item_name),
        annotator_word=html.escape(annotator_name),
        lead=content.lead(),
        cards=content.cards(),
        flagged=content.flagged(),
        reliability=content.reliability(figure_class),
        consensus=content.consensus(figure_class),
        annotators_heading=html.escape(
            f"{'Bias and inconsistency' if estimator.bias else 'Inconsistency'} "
            f"of each {annotator_name}"
        ),
        annotators=content.annotators(figure_class),
        model=content.model(),
        next_steps=content.next_steps(),
    )
    return page


class _Content:
    """The parts of the page, as HTML in which every label is escaped."""

    def __init__(self, estimator, X, items, annotators, names, level, evidence):
        self.estimator = estimator
        self.level = level
        self.item_name, self.annotator_name = names
        self.items = _item_table(
            estimator,
            _item_labels(estimator, items, X),
            evidence,
            level,
            "label",
        )
        self.people, self.reasons = _annotator_table(
            estimator, _annotator_labels(estimator, annotators, X), evidence, "label"
        )
        self.has_counts = evidence is not None
        self.evidence = evidence
        self.agreement = None if evidence is None else evidence.r
        self.levels = _levels(X, estimator) if X is not None else None
        # Ranked as the command's summary ranks them.
        items = self.items
        half = _half_width(items, self.estimator._score_scale.log).to_numpy()
        labels = items["label"].to_numpy()
        self.widest = _widest(items["std_error"].to_numpy(), half=half, labels=labels)
        self.n_wide = int(_is_wide(items["std_error"].to_numpy()).sum())

    # ------------------------------------------------------------ text
    def default_title(self):
        return (
            f"skem report: {len(self.items)} "
            f"{_plural(self.item_name, len(self.items))} rated by "
            f"{len(self.people)} {_plural(self.annotator_name, len(self.people))}"
        )

    def lead(self):
        low, high = _scale_ends(self.estimator)
        ratings = (
            f"{count(self.items['n_ratings'].sum(), 'rating')}, "
            if self.has_counts
            else ""
        )
        levels = (
            ""
            if self.levels is None
            else f" (ratings on the levels {', '.join(map(number, self.levels))})"
        )
        return html.escape(
            f"{type(self.estimator).__name__} fitted to {len(self.items)} "
            f"{_plural(self.item_name, len(self.items))} and {len(self.people)} "
            f"{_plural(self.annotator_name, len(self.people))}: {ratings}scale "
            f"{number(low)} to "
            f"{number(high)}"
            f"{levels}."
        )

    def cards(self):
        counts = self.people["verdict"].value_counts()
        parts = []
        for verdict, one, several in (
            ("random", "answers at random", "answer at random"),
            ("undetermined", "undetermined", "undetermined"),
            ("consistent", "consistent", "consistent"),
        ):
            n = int(counts.get(verdict, 0))
            noun = _plural(self.annotator_name, n)
            parts.append(
                f'<div class="card {verdict}"><span class="n">{n}</span>'
                f"{html.escape(noun)} {one if n == 1 else several}</div>"
            )
        return "\n".join(parts)

    def flagged(self):
        people = self.people
        order = np.argsort(people["log_posterior"].to_numpy(), kind="stable")
        verdict = people["verdict"].to_numpy()
        # One line for each group of those not judged, but those a failed
        # mixture flagged and those who follow the items, listed one by one
        # with their reason.
        (failed, _), (followers, _), *groups = _unjudged_groups(self.estimator)
        few = (
            (verdict == "undetermined") & ~self.estimator.judged_ & ~failed & ~followers
        )
        lines = [
            f"<li>{_badge(verdict[k])} <strong>"
            f"{_text(people['label'].iloc[k])}</strong>: "
            f"{html.escape(self.reasons[k])}.</li>"
            for wanted in ("random", "undetermined")
            for k in order
            if verdict[k] == wanted and not few[k]
        ]
        if len(lines) > MAX_LISTED:
            lines = lines[:MAX_LISTED] + [
                f"<li>and {len(lines) - MAX_LISTED} more: see the table below.</li>"
            ]
        who = html.escape(_plural(self.annotator_name))
        # One line a group: a sparse crowd has hundreds.
        for group, why in groups:
            group &= few
            if not group.any():
                continue
            if why == TOO_FEW_RATINGS:
                why += (
                    f" (fewer than {MIN_JUDGED_RATINGS} on items that two others "
                    "rated too)"
                )
            lines.append(
                f"<li>{_badge('undetermined')} {group.sum()} "
                f"{html.escape(_plural(self.annotator_name, group.sum()))} "
                f"({html.escape(why)}): {_named(people['label'][group])}"
                f"; {html.escape(_prior_weight_words(self.estimator.pi_))}.</li>"
            )
        random = verdict == "random"
        if lines:
            weights = people["consensus_weight"].to_numpy()[random]
            verb = "answers" if random.sum() == 1 else "answer"
            intro = (
                f"<p>{random.sum()} of {len(people)} {who} {verb} at random"
                + (
                    f": {html.escape(_random_weight_words(weights))}. "
                    if random.any()
                    else ". "
                )
                + "An annotator is <em>consistent</em> when the model gives "
                f"at least {CONSISTENT_FROM:.0%} probability that their ratings "
                "follow the consensus, <em>random</em> at most "
                f"{RANDOM_BELOW:.0%}, and <em>undetermined</em> in between, "
                "with too few ratings to judge, where the panel agrees too "
                "little for their ratings to tell careful from random, or when "
                "the fit that called them random did no better than one that "
                "trusts everyone."
                + (
                    " In the reasons, <em>r</em> is the correlation of an "
                    "annotator's ratings with the consensus (1: they rise and "
                    "fall together; 0: no relation)."
                    if self.agreement is not None
                    else ""
                )
                + "</p>"
            )
            return intro + '<ul class="flagged">' + "\n".join(lines) + "</ul>"
        return (
            f"<p>Nobody was flagged: all {len(people)} {who} are consistent "
            f"(probability of following the consensus at least "
            f"{CONSISTENT_FROM:.0%}).</p>"
        )

    def model(self):
        em = self.estimator
        form, objective = _model_words(em, *_scale_ends(em))
        if em.converged_:
            fit = (
                f"EM converged after {em.n_iter_} iteration"
                f"{'' if em.n_iter_ == 1 else 's'}: the last one changed the "
                f"{objective} by less than tol={em.tol:g} per rating. Final "
                f"{objective}: {em.log_likelihood_:.6g}."
            )
            fit = f'<p class="note">{html.escape(fit)}</p>'
        else:
            fit = (
                f"EM did NOT converge: it stopped after max_iter={em.max_iter} "
                f"iteration{'' if em.max_iter == 1 else 's'}, with the {objective} "
                "still changing by at least "
                f"tol={em.tol:g} per rating (final {objective}: "
                f"{em.log_likelihood_:.6g}). Treat these results as provisional "
                "(the next steps say what to do)."
            )
            fit = f'<p class="warn">{html.escape(fit)}</p>'
        panel = (
            "Inconsistency, the same for every annotator"
            if em.noise == "shared"
            else "The panel's inconsistency, toward which each annotator's own is drawn"
        )
        shared_text = (
            f"Prior share of good annotators: {_share(em.pi_)}. "
            f"{panel}: {number(em.shared_sigma_)}."
        )
        return (
            "<ul>"
            + "".join(f"<li>{part}</li>" for part in form)
            + "</ul>"
            + fit
            + f"<p>{html.escape(shared_text)}</p>"
        )

    def next_steps(self):
        steps = []
        items = self.items
        # NaN: no rating; inf: only raters whose weight is exactly 0.
        finite = np.isfinite(items["std_error"].to_numpy())
        name = self.item_name
        if (~finite).any():
            missing = np.flatnonzero(~finite)
            verb = "has" if len(missing) == 1 else "have"
            steps.append(
                f"{len(missing)} {html.escape(_plural(name, len(missing)))} "
                f"{verb} no usable rating (none at all, or only ratings by random "
                f"{html.escape(_plural(self.annotator_name))}): collect ratings "
                f"for {_named(items['label'].to_numpy()[missing])}."
            )
        if self.widest.size:
            named = ", ".join(
                f"{_text(items['label'].iloc[k])} "
                f"({number(items['ci_low'].iloc[k])} to "
                f"{number(items['ci_high'].iloc[k])})"
                for k in self.widest
            )
            among = (
                f" (the {self.widest.size} widest of the {self.n_wide:,} whose "
                f"standard error is over {WIDE_FACTOR:g} times the median)"
                if self.n_wide > self.widest.size
                else ""
            )
            steps.append(
                f"Re-collect ratings for the {html.escape(_plural(name))} whose "
                f"intervals are widest{among}: {named}. More ratings, from "
                f"consistent {html.escape(_plural(self.annotator_name))}, narrow "
                "them."
            )
        elif finite.any():
            median = np.median(items["std_error"].to_numpy()[finite])
            half = float(_compute_consensus_interval(0.0, median, self.level)[1])
            clipping = " before clipping to the scale" if self.estimator.bounded else ""
            width = f"about &plusmn;{number(half, 2)}"
            if self.estimator._score_scale.log:
                width = (
                    f"from about {-np.expm1(-half):.0%} below to "
                    f"{np.expm1(half):.0%} above the consensus"
                )
            steps.append(
                f"The intervals are all about equally wide ({width}"
                f"{clipping}): no {html.escape(name)} stands out. More ratings "
                f"per {html.escape(name)} narrow them all."
            )
        people = self.people
        offset = np.zeros(len(people), dtype=bool)
        if self.agreement is not None and not self.estimator.bias:
            # A rater who follows the consensus a constant step above or below
            # it looks random to a fit without biases, and is no such thing.
            offset = _random_but_agreeing(people["verdict"], self.agreement)
            if offset.any():
                steps.append(
                    f"Before excluding {_named(people['label'].to_numpy()[offset])}"
                    f": flagged as random, their ratings still follow the consensus "
                    f"(agreement r &ge; {OFFSET_AGREEMENT:g}). Ratings a constant "
                    "step above or below everyone else's look random to a fit without "
                    "biases: fit with <code>bias=True</code> (the command's "
                    "<code>--bias</code>) and see whether they are consistent then."
                )
        verdict = people["verdict"].to_numpy()
        # Those a failed mixture flagged have ratings enough: more would not
        # be the advice for them.
        (failed, _), (followers, _), *_ = _unjudged_groups(self.estimator)
        own = (
            ""
            if self.estimator.noise == "shared"
            else ", each with its own inconsistency"
        )
        for chosen, advice in (
            (
                # Those named just above are to be refitted first.
                (verdict == "random") & ~offset,
                "Check the ratings of the {who} flagged as random ({names}): a "
                "misunderstood scale, a reversed scale, or inattention; exclude "
                "them or re-run their sessions.",
            ),
            (
                (verdict == "undetermined") & ~failed & ~followers,
                "Look at the undetermined {who} ({names}): with more ratings, "
                "on items that others rate too, the model can tell.",
            ),
            (
                followers,
                "Look at the ratings of {names}: they follow the items, too far "
                "off the consensus for the noise of careful {who}, so they are "
                "neither consistent nor random"
                + (
                    "."
                    if self.estimator.bias
                    else ". If they may rate a constant step above or below the "
                    "others, fit with <code>bias=True</code> (the command's "
                    "<code>--bias</code>) and see whether they are consistent "
                    "then."
                ),
            ),
            (
                failed,
                "Look at the ratings of {names} if you doubt them: only a fit "
                "that explained the ratings no better than trusting everyone "
                "called them random, so they count as good {who} in the "
                "consensus{own}.",
            ),
        ):
            flagged = people["label"].to_numpy()[chosen]
            if flagged.size:
                steps.append(
                    advice.format(
                        who=html.escape(_plural(self.annotator_name)),
                        names=_named(flagged),
                        own=own,
                    )
                )
        for note in self._error_notes():
            steps.append(html.escape(note))
        if not self.estimator.converged_:
            steps.append(
                "Refit with a larger <code>max_iter</code>: EM did not converge."
            )
        return "<ol>" + "".join(f"<li>{step}</li>" for step in steps) + "</ol>"

    def _error_notes(self):
        """The notes on the ratings: the same score throughout, errors that
        grow with the score or have heavy tails, random verdicts from few
        raters per item, verdicts on yes/no labels (:mod:`skem._io.notes`).

        Only the last without the counts; the last two without the ratings
        (a Dask fit).
        """
        verdicts = self.people["verdict"]
        notes = []
        if self.evidence is not None and self.evidence.far is not None:
            labels = self.people["label"].to_numpy()
            notes += [
                _same_score_note(
                    self.evidence,
                    verdicts,
                    lambda same: ", ".join(_text(label) for label in labels[same]),
                ),
                _relative_error_note(self.estimator, self.evidence, command=False),
                _heavy_tail_note(
                    self.estimator, self.evidence, verdicts, command=False
                ),
            ]
        if self.evidence is not None:
            notes.append(_few_raters_note(self.evidence, verdicts))
        notes.append(_yes_no_note(self.estimator, verdicts))
        return [note for note in notes if note]

    # --------------------------------------------------------- figures
    def reliability(self, figure_class):
        figure = _reliability_figure(self.people, self.annotator_name, figure_class)
        return figure + _annotator_html_table(
            self.people,
            self.reasons,
            self.annotator_name,
            self.has_counts,
            self.estimator.bias,
            self.estimator._score_scale.log,
        )

    def consensus(self, figure_class):
        figure = _consensus_figure(
            self.items,
            self.widest,
            self.n_wide,
            _scale_ends(self.estimator),
            self.levels,
            bounded=self.estimator.bounded,
            item_name=self.item_name,
            level=self.level,
            figure_class=figure_class,
            stated=not isinstance(self.estimator.score_range, str),
            log=self.estimator._score_scale.log,
        )
        return figure + _item_html_table(
            self.items,
            self.item_name,
            self.has_counts,
            self.level,
            self.estimator._score_scale.log,
        )

    def annotators(self, figure_class):
        return _annotator_figures(
            self.people,
            self.annotator_name,
            self.estimator.bias,
            figure_class,
            self.estimator.tail_,
            self.estimator._score_scale.log,
        )
