"""AnnotatorEM inside pipelines, model selection and column transformers."""

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skem import AnnotatorEM, HardAnnotatorEM
from skem.datasets import make_ratings
from tests._helpers import LECTURE


def to_unit_scale(X):
    """Map a 1..5 rating scale onto [0, 1]; NaN stays NaN."""
    return (X - 1.0) / 4.0


@pytest.fixture(scope="module")
def ratings_1_to_5():
    X, mu, good = make_ratings(
        120,
        10,
        bad_fraction=0.3,
        sigma=0.3,
        missing_fraction=0.4,
        score_range=(1, 5),
        return_truth=True,
        random_state=0,
    )
    return X, mu, good


@pytest.mark.parametrize("Estimator", [AnnotatorEM, HardAnnotatorEM])
def test_grid_search_over_init_strategies_in_a_pipeline(Estimator, ratings_1_to_5):
    X, _, good = ratings_1_to_5
    step = Estimator.__name__.lower()
    pipeline = make_pipeline(
        FunctionTransformer(to_unit_scale), Estimator(**LECTURE, score_range=(0, 1))
    )
    search = GridSearchCV(
        pipeline,
        {
            f"{step}__init": ["all_good", "median", "random"],
            f"{step}__random_state": [0],
        },
        cv=KFold(3, shuffle=True, random_state=0),
    )
    search.fit(X)
    assert search.best_params_[f"{step}__init"] in {"all_good", "median", "random"}
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    assert search.best_score_ == scores.max()
    best = search.best_estimator_[-1]
    np.testing.assert_array_equal(best.weights_ >= 0.5, good)


def test_grid_search_accepts_an_array_of_prior_beliefs(ratings_1_to_5):
    X, _, good = ratings_1_to_5
    prior = np.where(good, 0.9, 0.1)
    search = GridSearchCV(
        AnnotatorEM(**LECTURE), {"init": ["all_good", prior]}, cv=3
    ).fit(X)
    assert len(search.cv_results_["params"]) == 2
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_cross_val_score_runs_without_y(ratings_1_to_5):
    X, _, _ = ratings_1_to_5
    scores = cross_val_score(AnnotatorEM(**LECTURE), X, cv=4)
    assert scores.shape == (4,) and np.all(np.isfinite(scores))


def test_held_out_score_prefers_the_model_that_finds_the_bad_annotators(
    ratings_1_to_5,
):
    """score() is a predictive likelihood: spotting the bad raters raises it."""
    X, _, _ = ratings_1_to_5
    train, test = X[:80], X[80:]
    em = AnnotatorEM(**LECTURE).fit(train)
    fitted_score = em.score(test)
    em.weights_ = np.ones_like(em.weights_)  # trust everyone instead
    assert fitted_score > em.score(test) + 0.5


def test_column_transformer_feeds_the_consensus_to_a_regressor(ratings_1_to_5):
    """Rating columns become one consensus feature; other columns pass through."""
    pd = pytest.importorskip("pandas")
    X, mu, _ = ratings_1_to_5
    rng = np.random.RandomState(1)
    rating_columns = [f"rater{a}" for a in range(X.shape[1])]
    table = pd.DataFrame(X, columns=rating_columns)
    table["duration"] = rng.uniform(0, 10, X.shape[0])
    table["bitrate"] = rng.uniform(0, 1, X.shape[0])
    # The item's true quality is the target: a fitted consensus explains it.
    target = mu + 0.05 * table["bitrate"]

    model = make_pipeline(
        ColumnTransformer(
            [("consensus", AnnotatorEM(**LECTURE), rating_columns)],
            remainder="passthrough",
        ),
        Ridge(alpha=1e-3),
    )
    model.fit(table, target)
    names = model[0].get_feature_names_out()
    assert list(names) == [
        "consensus__consensus",
        "remainder__duration",
        "remainder__bitrate",
    ]
    r2 = model.score(table, target)
    assert r2 > 0.95
    fitted_em = model[0].named_transformers_["consensus"]
    # The target reaches AnnotatorEM.fit as y and is ignored: never gold.
    alone = AnnotatorEM(**LECTURE).fit(table[rating_columns])
    np.testing.assert_array_equal(fitted_em.mu_, alone.mu_)


def test_counts_fit_on_their_logarithms_in_a_pipeline():
    """The user guide's way for counts whose errors grow with the count: the
    logarithms in a pipeline, the consensus back through exp. It is the fit
    of np.log(X); on the logarithms the errors have one scale, and none of
    these honest counters is flagged or needs a lapse, where the fit of the
    counts calls 11 of 150 good only by reading one of their large guesses
    as a slip (skem._model.lapses)."""
    rng = np.random.default_rng(0)
    truth = rng.uniform(20, 500, 60)
    X = np.full((60, 150), np.nan)
    for item in range(60):
        guesses = truth[item] * np.exp(0.3 * rng.standard_normal(10))
        X[item, rng.choice(150, 10, replace=False)] = np.maximum(1, np.round(guesses))
    X = X[:, ~np.all(np.isnan(X), axis=0)]
    pipeline = make_pipeline(FunctionTransformer(np.log), AnnotatorEM())
    consensus = np.exp(pipeline.fit(X).transform(X).ravel())
    alone = AnnotatorEM().fit(np.log(X))
    np.testing.assert_allclose(consensus, np.exp(alone.mu_), rtol=1e-12)
    assert not np.any(pipeline[-1].weights_ < 0.5)
    assert not np.any(pipeline[-1].lapsed_)
    assert np.any(AnnotatorEM().fit(X).lapsed_)
