"""How long a report takes for a study of thousands of trials on a real SQLite storage.

Builds (once, cached in the output folder) a synthetic study in the runner's attribute format,
then times each stage: reading the trials, extraction, drawing + writing the HTML, publishing
the dashboard figures, and the export.

    python bench/report_speed.py [--trials 2000] [--folder /tmp/lrsearch-bench]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lrsearch.report import (  # noqa: E402
    export_best,
    extract_report,
    load_report_study,
    publish_to_dashboard,
    write_report,
)
from tests.report._studies import make_study  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--folder", default="/tmp/lrsearch-bench")
    args = parser.parse_args()
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / f"report-{args.trials}.db"
    url = f"sqlite:///{db}"
    if not db.exists():
        started = time.perf_counter()
        make_study(url, "bench", args.trials)
        print(f"built {args.trials} trials in {time.perf_counter() - started:.1f} s (once)")
    timings = {}
    started = time.perf_counter()
    study = load_report_study(url, "bench")
    study.get_trials(deepcopy=False)
    timings["read trials"] = time.perf_counter() - started
    started = time.perf_counter()
    data = extract_report(study, 10)
    timings["extract"] = time.perf_counter() - started
    for name, stage in (("draw + write HTML", lambda: write_report(data, folder / "r.html")),
                        ("publish to dashboard", lambda: publish_to_dashboard(study)),
                        ("export", lambda: export_best(study))):
        started = time.perf_counter()
        stage()
        timings[name] = time.perf_counter() - started
    for name, seconds in timings.items():
        print(f"{name:>22}: {seconds:6.2f} s")
    print(f"{'total':>22}: {sum(timings.values()):6.2f} s for {args.trials} trials")


if __name__ == "__main__":
    main()
