"""Print every benchmark table: ``python -m benchmarks [--quick] [--output FILE]``."""

import argparse
import platform
import sys
import time

import numpy as np
import scipy
import sklearn

import skem
from benchmarks import (
    accuracy,
    crowds,
    forms,
    outside,
    peers,
    scaleout,
    speed,
    startup,
    subsamples,
    versus_sureal,
    yes_no,
)
from benchmarks._common import Skipped

SECTIONS = {
    "accuracy": [
        ("Accuracy on emotion/ (expert truth)", accuracy.emotion_table),
        (
            "Robustness: random annotators replacing real ones on emotion/",
            accuracy.robustness_table,
        ),
        ("Netflix outliers 26-29: rank by reliability", accuracy.netflix_ranks_table),
        (
            "Crowds of workers with one or two ratings (simulated)",
            crowds.sparse_crowd_table,
        ),
        (
            "Counts with relative errors (simulated, and crowd/dot_guessing)",
            crowds.counts_table,
        ),
        (
            "Honest raters noisier than the rest (simulated)",
            crowds.noisier_raters_table,
        ),
        (
            "Raters who give every item one score (simulated)",
            crowds.straightliners_table,
        ),
        (
            "Hard judgments with few raters per item (simulated)",
            crowds.hard_panels_table,
        ),
        (
            "Sliders whose honest raters use the scale differently (simulated)",
            crowds.slider_panels_table,
        ),
        (
            "Items rated in batches of different difficulty (simulated)",
            crowds.batched_panels_table,
        ),
        (
            "Honest raters who herd, or hold two views (simulated)",
            outside.outside_panels_table,
        ),
        ("Yes/no judgments (simulated)", yes_no.yes_no_table),
        (
            "The default against the mean on subsamples of the real sets",
            subsamples.subsample_table,
        ),
    ],
    "forms": [
        ("False flags on real panels, per model form", forms.false_flags_table),
        (
            "Robustness per model form: random raters replacing real ones",
            forms.robustness_table,
        ),
        ("Discrete scales: levels or exact scores", forms.discrete_scale_table),
    ],
    "speed": [
        ("One EM iteration of each model form", speed.iteration_table),
        ("Setup of a fit: everything before EM", speed.setup_table),
        ("Default against the lecture, whole fit", speed.whole_fit_table),
        ("Scaling with the number of ratings", speed.scaling_table),
        ("Missing ratings: 90% missing against full", speed.missing_table),
        ("Start-up of the command: skem --version and --help", startup.startup_table),
    ],
    "sureal": [("Against Netflix's sureal", versus_sureal.speed_table)],
    "peers": peers.TABLES,
    "scaleout": [
        ("Scale-out: Dask on a LocalCluster against in-memory", scaleout.scaleout_table)
    ],
}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes, a few seconds; leaves out the scale-out unless "
        "--sections names it",
    )
    parser.add_argument("--sections", nargs="+", choices=sorted(SECTIONS))
    parser.add_argument("--output", help="also write the Markdown report to this file")
    args = parser.parse_args(argv)

    lines = [
        "# skem benchmarks" + (" (quick)" if args.quick else ""),
        "",
        f"skem {skem.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"scikit-learn {sklearn.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}.",
    ]
    print("\n".join(lines), flush=True)
    sections = args.sections
    if sections is None:
        # Starting a LocalCluster's worker processes alone takes longer than
        # every other quick table together.
        sections = [
            name for name in SECTIONS if not (args.quick and name == "scaleout")
        ]
    start = time.perf_counter()
    for section in sections:
        for title, make_table in SECTIONS[section]:
            block = [f"\n## {title}\n"]
            try:
                tick = time.perf_counter()
                result, note = make_table(quick=args.quick)
                block += [result, "", note, f"\n({time.perf_counter() - tick:.1f} s)"]
            except Skipped as reason:
                block.append(f"Skipped: {reason}")
            print("\n".join(block), flush=True)
            lines += block
    total = f"\nTotal: {time.perf_counter() - start:.0f} s"
    print(total)
    lines.append(total)
    if args.output:
        with open(args.output, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
