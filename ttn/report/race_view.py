"""How each raced cell's race went (`ttn report --race`): per candidate, the runs it trained, its mean validation
accuracy over the race runs and over the selection runs, and what the rule made of it (`ttn.experiment.racing`).

    3dttn  20  lr 0.000625   0-29   0.712  0.735  picked
    3dttn  20  lr 0.00125    0-9    0.720  0.728  went on
    3dttn  20  lr 0.005      0-1    0.640  —      out after the race
"""
from __future__ import annotations

from typing import Any

from ttn.experiment.racing import decide
from ttn.report.selection import candidates_of
from ttn.report.tables import Report, format_runs, named_runs, per_plan

HEADER = ["arch", "videos", "candidate", "runs", "val (race runs)", "val (selection runs)", "race"]


def raced_cells(report: Report) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """The records of every (arch, size) cell of `report` whose size has a race plan, by (arch, videos) in the
    order of size, then arch: every cell with a run, racing or done, whether or not it has fresh runs yet."""
    plans = dict(report.options.race)
    by_cell: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for record in report.records:
        if record["videos"] in plans:
            by_cell.setdefault((record["arch"], record["videos"]), []).append(record)
    return dict(sorted(by_cell.items(), key=lambda item: (item[0][1], item[0][0])))


def race_rows(report: Report) -> list[list[str]]:
    """One line per candidate of every raced (arch, size) cell of `report` (empty when nothing was raced)."""
    plans = dict(report.options.race)
    lines = []
    for (arch, videos), records in raced_cells(report).items():
        plan = plans[videos]
        candidates = candidates_of(records)
        decision = decide(plan, list(range(len(candidates))), {i: c.val for i, c in enumerate(candidates)})
        survivors = set(decision.survivors or [])
        for index, candidate in enumerate(candidates):
            complete = all(run in candidate.val for run in plan.select_runs)
            if decision.winner == index:
                status = "picked"
            elif decision.survivors is None:
                status = "racing"
            elif index in survivors:
                status = "went on" if decision.winner is not None else "going on"
            else:
                status = "out after the race"
            race = candidate.mean_over(plan.race_runs) if all(r in candidate.val for r in plan.race_runs) else None
            lines.append([arch, str(videos), candidate.label(), format_runs(frozenset(candidate.runs)),
                          "—" if race is None else f"{race:.3f}",
                          f"{candidate.mean_over(plan.select_runs):.3f}" if complete else "—", status])
    return lines


def race_caption(report: Report) -> str:
    """What the race table's columns mean, with the plan of each size it has lines of (a size still racing
    included, unlike the accuracy table's caption, which names only the sizes it has rows of)."""
    sizes = {videos for _, videos in raced_cells(report)}
    rule = per_plan([(videos, plan) for videos, plan in report.options.race if videos in sizes],
                    lambda plan: f"K {plan.race}: {named_runs(plan.race_runs, 'race ')}, "
                                 f"{named_runs(plan.select_runs, 'selection ')}")
    return ("Mean validation accuracy of each candidate over the race runs (every candidate trains them) and over the "
            "selection runs (the top half, at least 2, trains the rest of them; the best mean there is picked and "
            f"trains the fresh runs). {rule}.")
