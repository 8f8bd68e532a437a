"""``skem fit`` in this process, and ``skem demo``."""

import sys
from typing import NamedTuple

from skem._cli.checking import check_options, clean_ratings, reading_notes
from skem._cli.fitting import finish, fit_with_progress, model_params, stage_report
from skem._cli.messages import UserInputError
from skem._cli.reading import Source, import_pandas, read_ratings
from skem._cli.results import data_notes, in_memory_tables, widest_intervals
from skem._cli.writing import OutputStage, output_paths, stage_csv, write_csv
from skem._io.words import percent


def run_fit(args):
    """Fit a ratings file in this process; write and summarize the result.

    Parameters
    ----------
    args : argparse.Namespace
        The ``skem fit`` options.

    Returns
    -------
    status : int
        0; every failure is an exception.
    """
    check_options(args)
    outputs = output_paths(args)
    frame, source = read_ratings(
        args.ratings,
        sep=args.sep,
        decimal=args.decimal,
        item=args.item,
        annotator=args.annotator,
        score=args.score,
    )
    _fit_and_report(frame, source, args, outputs)
    return 0


def run_demo(args):
    """Fit the bundled Netflix ratings and show how the known outliers fare.

    Parameters
    ----------
    args : argparse.Namespace
        The ``skem demo`` options.

    Returns
    -------
    status : int
        0.
    """
    from skem.datasets import load_video_quality

    check_options(args)
    # The bundled frame is pandas': without it, the same one-line error as
    # `skem fit`, not a traceback.
    import_pandas()
    outputs = output_paths(args)
    bundle = load_video_quality(as_frame=True)
    # Quiet, the demo shows nothing either: only warnings and errors.
    show = _silent if args.quiet else print
    show(
        "Netflix public video-quality ratings (bundled): 79 clips rated 1..5 by 30 "
        "viewers; viewers 26-29 are known to be unreliable.\n"
    )
    sys.stdout.flush()
    tables = _fit_and_report(bundle.frame, Source("the bundled ratings"), args, outputs)
    annotators = tables.annotators
    ranked = annotators.sort_values("log_posterior").head(8)
    # Not sigma: a random annotator's is the panel's, which its ratings barely move.
    shown = ranked[
        [args.annotator, "verdict", "p_good", "consensus_weight", "n_ratings"]
    ]
    show(
        "\nLeast reliable annotators (p_good: the probability of being good; "
        "consensus_weight: how much they count in the consensus):"
    )
    show(shown.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    found = set(annotators.loc[annotators["verdict"] == "random", args.annotator])
    known = set(bundle.unreliable.tolist())
    show(
        f"\nKnown unreliable {sorted(known)}: flagged {sorted(known & found)}, "
        f"missed {sorted(known - found)}; also flagged {sorted(found - known)}."
    )
    location = (
        "; location: the centre of a good rating before the scale's ends cut it "
        "off, beyond the consensus near an end"
        if "location" in tables.consensus
        else ""
    )
    show(
        "\nConsensus of the first items (ci_low to ci_high: its "
        f"{percent(args.level)} confidence interval{location}):"
    )
    show(
        tables.consensus.head(5).to_string(
            index=False, float_format=lambda v: f"{v:.3f}"
        )
    )
    return 0


class _Tables(NamedTuple):
    """The two tables of a fit, returned for the demo to show."""

    consensus: object
    annotators: object


def _silent(*args, **kwargs):
    """``print`` that prints nothing: the demo's output under ``--quiet``."""


def _fit_and_report(frame, source, args, outputs):
    """Check, fit, write the outputs, then print the summary (the shared step).

    Files are written first: whatever then happens to stdout (a closed
    pipe), they exist.
    """
    import skem

    clean = clean_ratings(frame, source, args)
    try:
        matrix = skem.long_to_matrix(
            clean, duplicates=args.duplicates, item="item", annotator="annotator"
        )
    except (ValueError, TypeError) as error:  # clean_ratings should catch these
        raise UserInputError(f"{source.name}: {error}") from None
    Estimator = skem.HardAnnotatorEM if args.hard else skem.AnnotatorEM
    estimator = Estimator(**model_params(args))
    elapsed, caught = fit_with_progress(
        estimator,
        lambda: estimator.fit(matrix.X),
        source=source.name,
        quiet=args.quiet,
    )
    consensus, annotators, evidence = in_memory_tables(
        estimator,
        matrix,
        level=args.level,
        item_name=args.item,
        annotator_name=args.annotator,
    )
    tables = {"consensus": consensus, "annotators": annotators}
    # Every file is written whole before any replaces its target: a failure
    # in one leaves them all as they were.
    with OutputStage() as stage:
        if "report" in outputs:
            stage_report(
                stage,
                estimator,
                outputs["report"],
                items=matrix.items,
                annotators=matrix.annotators,
                item_name=args.item,
                annotator_name=args.annotator,
                level=args.level,
                X=matrix.X,
            )
        for name, path in outputs.items():
            if name in tables and path != "-":
                stage_csv(stage, tables[name], path)
        stage.commit()
    finish(
        estimator,
        annotators,
        outputs=outputs,
        args=args,
        elapsed=elapsed,
        caught=caught,
        n_items=len(matrix.items),
        widest=widest_intervals(consensus, args.item, log=estimator._score_scale.log),
        notes=reading_notes(clean, int(annotators["n_ratings"].sum()))
        + data_notes(estimator, evidence, annotators, args.annotator),
        created=stage.created_folders,
    )
    for name, path in outputs.items():
        if path == "-":
            write_csv(tables[name], sys.stdout)
    return _Tables(consensus, annotators)
