"""``skem fit --workers N`` / ``--scheduler ADDRESS``: the fit on a Dask cluster."""

import contextlib
import glob
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

from skem._cli import (
    UserInputError,
    _check_options,
    _describe,
    _model_params,
    _one_line,
    _output_dir_paths,
    _Progress,
    _sigma_text,
    _umask,
    _write_files,
)

# How long to wait for the scheduler of --scheduler before giving up.
_CONNECT_TIMEOUT = "20s"


def run_fit_on_dask(args):
    """Fit a Parquet dataset on a Dask cluster and write the two tables."""
    _check_options(args)
    _check_dask_options(args)
    try:
        import dask
        import dask.dataframe as dd
        import distributed
        import pyarrow  # noqa: F401

        from skem.dask import DaskAnnotatorEM, DaskHardAnnotatorEM
        from skem.dask._cluster import _local_cluster
    except ImportError as error:
        raise UserInputError(
            f"--workers and --scheduler need Dask ({error.name} is missing): "
            "pip install 'skem[dask]'"
        ) from None
    outputs = _outputs(args)
    files = _parquet_files(args.ratings)

    Estimator = DaskHardAnnotatorEM if args.hard else DaskAnnotatorEM
    estimator = Estimator(
        **_model_params(args),
        item=args.item,
        annotator=args.annotator,
        score=args.score,
    )
    quiet_logs = {"distributed.logging.distributed": "error"}
    with dask.config.set(quiet_logs), _client(args, distributed, _local_cluster):
        try:
            frame = dd.read_parquet(files)
        except Exception as error:
            raise UserInputError(
                f"{args.ratings}: cannot read it: {_describe(error)}"
            ) from None
        show_progress = not args.quiet and sys.stdout.isatty()
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with contextlib.redirect_stdout(_Progress(show_progress, start)):
                try:
                    estimator.fit(frame)
                except ValueError as error:
                    raise UserInputError(f"{args.ratings}: {error}") from None
            elapsed = time.perf_counter() - start
            annotators = _annotator_table(estimator)
            if "consensus" in outputs:
                _write_dataset(_consensus(estimator, args.level), outputs["consensus"])
        report = _summary(estimator, annotators, elapsed)
        report += [
            f"warning: {message}"
            for message in dict.fromkeys(_one_line(w.message) for w in caught)
        ]
    if "annotators" in outputs and outputs["annotators"] != "-":
        _write_files([(annotators, outputs["annotators"])])
    report += [
        f"wrote {name} to {path}" for name, path in outputs.items() if path != "-"
    ]
    if not outputs:
        report.append(
            "(use --output-dir, --consensus or --annotators to save the tables)"
        )
    to_stdout = outputs.get("annotators") == "-"
    print("\n".join(report), file=sys.stderr if to_stdout else sys.stdout)
    if to_stdout:
        annotators.to_csv(sys.stdout, index=False)
    return 0


def _check_dask_options(args):
    if args.workers is not None and args.workers < 1:
        raise UserInputError(f"--workers must be at least 1; got {args.workers}")
    if args.sep is not None or args.decimal is not None:
        raise UserInputError(
            "--sep and --decimal apply to CSV files; --workers and --scheduler "
            "read Parquet"
        )
    if args.duplicates != "raise":
        raise UserInputError(
            "--duplicates mean is not available with --workers or --scheduler: "
            "average the repeated pairs first"
        )


def _outputs(args):
    outputs = _output_dir_paths(args, "consensus")
    if args.consensus is not None:
        if args.consensus in ("", "-"):
            raise UserInputError(
                "--consensus needs a folder for the Parquet dataset with "
                "--workers or --scheduler (not stdout)"
            )
        outputs["consensus"] = Path(args.consensus)
    if args.annotators is not None:
        if not args.annotators:
            raise UserInputError("--annotators needs a file name, or '-' for stdout")
        outputs["annotators"] = args.annotators
    consensus = outputs.get("consensus")
    if consensus is not None and consensus.exists() and not consensus.is_dir():
        raise UserInputError(f"{consensus}: is a file, not a folder")
    annotators = outputs.get("annotators")
    if annotators not in (None, "-") and Path(annotators).is_dir():
        raise UserInputError(f"{annotators}: is a folder, not a file")
    return outputs


def _parquet_files(path):
    """The Parquet files of a folder or a glob, or a one-line error."""
    text = str(path)
    if path.is_dir():
        files = sorted(
            str(p)
            for p in path.rglob("*")
            if p.is_file() and not p.name.startswith((".", "_"))
        )
    elif glob.has_magic(text):
        files = sorted(glob.glob(text, recursive=True))
        if not files:
            raise UserInputError(f"{path}: no file matches this glob")
    elif path.is_file():
        files = [text]
    else:
        raise UserInputError(f"{path}: no such file or folder")
    if not files:
        raise UserInputError(f"{path}: holds no Parquet file")
    return files


@contextlib.contextmanager
def _client(args, distributed, local_cluster):
    """A client of the --scheduler cluster, or of a new LocalCluster."""
    if args.scheduler is not None:
        try:
            client = distributed.Client(args.scheduler, timeout=_CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as error:
            raise UserInputError(
                f"--scheduler {args.scheduler}: cannot connect: {_describe(error)}"
            ) from None
        with client:
            yield client
        return
    with (
        local_cluster(args.workers, silence_logs=logging.ERROR) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _annotator_table(estimator):
    import numpy as np
    import pandas as pd

    sigma = np.broadcast_to(estimator.sigma_, estimator.weights_.shape)
    return pd.DataFrame(
        {
            "annotator": estimator.annotators_,
            "weight": estimator.weights_,
            "good": estimator.weights_ >= 0.5,
            "log_posterior": estimator.log_posterior_,
            "sigma": sigma,
            "bias": estimator.bias_,
        }
    )


def _consensus(estimator, level):
    """``consensus_`` with the interval at ``level``, the item as a column."""
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + level / 2))
    frame = estimator.consensus_
    return frame.assign(
        ci_low=frame["consensus"] - z * frame["std_error"],
        ci_high=frame["consensus"] + z * frame["std_error"],
    ).reset_index()


def _write_dataset(frame, path):
    """Write a Dask DataFrame as a Parquet dataset, whole or not at all.

    The partitions go to a temporary folder beside ``path``, which then
    takes its place: a fit that fails leaves no half dataset, and an existing
    one is replaced only by a complete one.
    """
    from dask import compute, delayed

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    except OSError as error:
        raise UserInputError(f"{path}: cannot write it: {_describe(error)}") from None
    try:
        writes = [
            delayed(_write_part)(part, str(temporary / f"part-{k:05d}.parquet"))
            for k, part in enumerate(frame.to_delayed())
        ]
        compute(*writes)
        os.chmod(temporary, 0o777 & ~_umask())
        previous = None
        if path.exists():
            previous = Path(
                tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old.")
            )
            os.replace(path, previous / path.name)
        os.replace(temporary, path)
        if previous is not None:
            shutil.rmtree(previous, ignore_errors=True)
    except OSError as error:
        raise UserInputError(f"{path}: cannot write it: {_describe(error)}") from None
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)


def _write_part(part, path):
    part.to_parquet(path, index=False)


def _summary(estimator, annotators, elapsed):
    flagged = annotators.loc[~annotators["good"], "annotator"].tolist()
    shown = ", ".join(map(str, flagged[:20])) + (" ..." if len(flagged) > 20 else "")
    low, high = estimator.score_range_
    n_annotators = len(estimator.annotators_)
    n_items = len(estimator.consensus_)
    return [
        f"{type(estimator).__name__}: {n_items} items, {n_annotators} annotators, "
        f"{estimator.n_ratings_} ratings, scale {low:g}..{high:g}",
        f"flagged as unreliable: {len(flagged)} of {n_annotators} annotators"
        + (f" ({shown})" if flagged else ""),
        f"{_sigma_text(estimator.sigma_)}, pi {estimator.pi_:.3f}, "
        f"{estimator.n_iter_} iterations, "
        + ("converged" if estimator.converged_ else "NOT converged")
        + f", {elapsed:.2f} s",
    ]
