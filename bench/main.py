"""Run every phase of the benchmark in order and write BENCHMARKS.md (see bench/run)."""

from __future__ import annotations

import argparse
import json
import time

from bench import report, sweep, web, workers
from bench.common import PROFILES, WORK, Results, log


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", choices=sorted(PROFILES), default="full")
    parser.add_argument("--command", default="bench/run")
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded database (development)")
    parser.add_argument("--only", default="web,sweep,workers", help="phases to run (development)")
    args = parser.parse_args()
    p = PROFILES[args.profile]
    started = time.monotonic()
    results = Results()
    if args.skip_load:
        dataset = json.loads((WORK / "dataset.json").read_text())
    else:
        from bench.load import load

        log(f"loading the {p.name} data set")
        dataset = load(p)
    results.add("load_seconds", dataset["load_seconds"])
    phases = args.only.split(",")
    if "web" in phases:
        log("web pages under load")
        web.run(p, dataset, results)
        results.save()
    if "sweep" in phases:
        log("sweep timings")
        sweep.run(p, results)
        results.save()
    if "workers" in phases:
        log("celery worker and beat")
        workers.run(p, dataset, results)
        results.save()
    report.write(p, dataset, results, args.command, time.monotonic() - started)
    log(f"done in {(time.monotonic() - started) / 60:.1f} min; BENCHMARKS.md written")


if __name__ == "__main__":
    main()
