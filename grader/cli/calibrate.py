"""``grader calibrate [NAME...]``: the command line of :mod:`grader.train.calibrate`."""
from __future__ import annotations

import argparse
from pathlib import Path

from grader.cli.settings import refuse_unwritable, writable_file
from grader.core import kit
from grader.core.device import resolve_device


def cmd_calibrate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Calibrate the thresholds of the exercises named (default: all that have one); write the table."""
    from grader.train.calibrate import DEFAULT_OUTPUT, run_calibration  # imports torch

    try:
        names = kit.resolve_names(args.names) if args.names else sorted({t.exercise for t in kit.thresholds()})
        device = resolve_device(args.device)
    except ValueError as exc:
        parser.error(str(exc))
    output = Path(args.json) if args.json else DEFAULT_OUTPUT
    refuse_unwritable(parser, writable_file(str(output), "--json"))
    return run_calibration(names, args.seeds, max(0, args.variants), device, output)
