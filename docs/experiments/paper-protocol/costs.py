"""What racing and deferred tests saved, measured on the records of a raced folder.

    python docs/experiments/paper-protocol/costs.py [FOLDER]      # default: docs/experiments/paper-protocol

Per (arch, videos): the runs recorded, how many skipped their test pass (`test_deferred` and still untested:
candidates not picked), the median time of a run's training (its wall time, which holds no test when the test
was deferred) and of a test pass (`test_time_s`), and the time the skipped test passes would have taken
(untested runs x the cell's median test pass). The total line gives that saving as a share of what the runs
would have cost with every test done. Times are wall seconds of one worker on the machine named in the records.
"""
from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path


def main(folder: Path) -> None:
    cells: dict[tuple[str, int], list[dict]] = defaultdict(list)
    cpus = set()
    for path in sorted(folder.glob("*.json")):
        record = json.loads(path.read_text())
        if "run_id" not in record:
            continue  # race.json
        cells[(record["arch"], record["videos"])].append(record)
        cpus.add(record.get("versions", {}).get("cpu"))
    print(f"{folder}: {sum(map(len, cells.values()))} records, CPU {', '.join(map(str, sorted(cpus, key=str)))}")
    print(f"{'arch':6} {'videos':>6} {'runs':>5} {'untested':>8} {'train s':>8} {'test s':>7} {'saved s':>8}")
    spent = saved = 0.0
    for (arch, videos), records in sorted(cells.items(), key=lambda item: (item[0][1], item[0][0])):
        trained = [r["wall_time_s"] - (r.get("test_time_s") or 0.0 if not r.get("test_deferred") else 0.0)
                   for r in records]
        tests = [r["test_time_s"] for r in records if r.get("test_time_s")]
        untested = sum(1 for r in records if r["test_accuracy"] is None)
        test_s = statistics.median(tests) if tests else float("nan")
        cell_saved = untested * test_s if tests else 0.0
        spent += sum(trained) + sum(tests)
        saved += cell_saved
        print(f"{arch:6} {videos:6} {len(records):5} {untested:8} {statistics.median(trained):8.1f} {test_s:7.1f} "
              f"{cell_saved:8.0f}")
    if spent:
        print(f"deferred tests saved {saved / 3600:.2f} h of {(spent + saved) / 3600:.2f} h ({saved / (spent + saved):.0%}); "
              "cells without a tested run yet count no saving")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent)
