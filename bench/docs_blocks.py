"""The generated blocks of README.md and docs/*.md, rendered from one run's saved figures.

``bench/docs_numbers.py`` runs the quickstart and the commands the docs quote and saves what it
measured as JSON; this module turns that JSON into the text between the markers
``<!-- generated: NAME ... -->`` and ``<!-- /generated -->``. It is pure (no lrsearch, no
Optuna), so the test that keeps the docs in sync with the JSON runs in milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["BLOCKS", "apply_blocks", "out_of_sync", "render_blocks"]

MARKER = re.compile(r"(<!-- generated: (?P<name>[\w-]+)[^>]*-->\n)(?P<body>.*?)"
                    r"(<!-- /generated -->)", re.DOTALL)

# What a prior is, by the name lrsearch.search._queue gives it.
PRIOR_WORDS = {"linear-to-zero": "linear decay to zero", "wsd-20": "WSD with a 20% cooldown"}
# The reader's name of a baseline preset.
BASELINE_WORDS = {"schedulefree": "schedule-free SGD", "linear-to-zero": "linear decay to zero"}


def duration(seconds: float) -> str:
    """``172.4`` -> ``'2 min 52 s'``; under a minute, ``'48 s'``."""
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def numbers(values: list[int]) -> str:
    """``[0, 1, 2, 3]`` -> ``'0-3'``, ``[4, 5]`` -> ``'4 and 5'``, ``[4]`` -> ``'4'``."""
    if len(values) == 2:
        return f"{values[0]} and {values[1]}"
    if len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}-{values[-1]}"
    return ", ".join(str(v) for v in values)


def epochs_text(count: int | str) -> str:
    """``1`` -> ``'1 epoch'``, ``2`` -> ``'2 epochs'``."""
    return f"{count} epoch{'s' * (int(count) != 1)}"


def conditions(fig: dict[str, Any]) -> str:
    """Where and when it was measured: ``2026-12-03, 2 cores, load average 0.58 before``."""
    machine = fig["machine"]
    return (f"{fig['date']}, {machine['cores']} CPU cores, load average "
            f"{machine['load_before']:.2f} before the run")


def trial_lines(output: list[str]) -> list[str]:
    return [line for line in output if re.match(r"trial \d+ ", line)]


def lines_starting(output: list[str], prefix: str) -> list[str]:
    return [line for line in output if line.startswith(prefix)]


def code(lines: list[str]) -> str:
    return "```\n" + "\n".join(lines) + "\n```\n"


def readme_run(fig: dict[str, Any]) -> str:
    study = fig["study"]
    extra = study["seeds_per_rerun"]
    seeds = "one more seed" if extra == 1 else f"{extra} more seeds"
    return (f"`make quickstart` has already run the first one: {study['n_trials']} finished "
            f"trials, then the top {len(study['reruns'])} re-run with {seeds} before the "
            f"winner is named, in "
            f"{duration(fig['run_seconds'])} once the venv is installed ({conditions(fig)}; "
            f"a busier machine takes longer).\n")


def readme_output(fig: dict[str, Any]) -> str:
    output, study = fig["run_output"], fig["study"]
    trials = trial_lines(output)
    head = len(study["baselines"]) + len(study["priors"])
    return code([*lines_starting(output, "model: "), *lines_starting(output, "data: "),
                 *trials[:head], "...", *trials[-2:], lines_starting(output, "re-running")[0],
                 "...", *lines_starting(output, "study '"),
                 lines_starting(output, "next: ")[0], "      ..."])


def readme_trials(fig: dict[str, Any]) -> str:
    study = fig["study"]
    rungs, epochs = study["rungs"], study["epochs"]
    priors = ", ".join(PRIOR_WORDS.get(name.split(" (")[0], name) for _, name in study["priors"])
    stopped = " and ".join(f"{count} after {epochs_text(rung)}"
                           for rung, count in sorted(study["stopped_at"].items(),
                                                     key=lambda kv: int(kv[0])))
    cost, reruns = study["cost_epochs"], study["rerun_epochs"]
    return (f"Trials {numbers([n for n, _ in study['baselines']])} are the baselines; "
            f"{numbers([n for n, _ in study['priors']])} are the search's priors ({priors}, "
            f"at SGD's typical peak LR, {study['prior_peak_lr']:g}). Every searched trial first "
            f"trains its whole schedule in {', then in '.join(map(epochs_text, rungs[:-1]))}, "
            f"and goes on to the full {epochs} only while it ranks in the best third at "
            f"that length: here {study['searched_full']} of the {study['searched']} searched "
            f"trials did and the others stopped, {stopped}, so the {study['n_trials']} trials "
            f"cost {cost:g} epochs, {cost / epochs:.0f} full trials' worth (the re-runs "
            f"{reruns / epochs:.0f} more). {polish_sentence(fig)}{winner_sentence(fig)}\n")


def polish_sentence(fig: dict[str, Any]) -> str:
    """The polish trials in a few words ("" without any)."""
    polish = fig["study"].get("polish") or []
    if not polish:
        return ""
    said = "; ".join(f"trial {n} ran trial {origin['trial']} at x{origin['factor']:g} its "
                     f"peak LR" for n, origin in polish)
    last = "The last trial is" if len(polish) == 1 else f"The last {len(polish)} trials are"
    return (f"{last} a polish trial, the best searched trial so far at another peak LR, "
            f"never stopped early ({said}). ")


def winner_sentence(fig: dict[str, Any]) -> str:
    study = fig["study"]
    win, base = study["winner"], study["best_baseline"]
    what = f"trial {win['number']}, {win['family']}"
    if win.get("prior"):
        what += f", the prior {win['prior'].split(' (')[0]}"
    if win.get("polish"):
        what += f", the polish of trial {win['polish']['trial']} at x{win['polish']['factor']:g}"
    seeds = f"the mean of {len(win['values'])} seeds" if len(win["values"]) > 1 else "one seed"
    margin = 100 * (win["mean"] - base["mean"])
    return (f"The winner ({what}) scored {win['mean']:.4f}, {seeds}, {margin:+.1f} points "
            f"over the best baseline ({BASELINE_WORDS.get(base['name'], base['name'])}, "
            f"{base['mean']:.4f}) on the validation split.")


def results_output(fig: dict[str, Any]) -> str:
    output = fig["run_output"]
    return code([*trial_lines(output)[-2:], *lines_starting(output, "re-running"),
                 *lines_starting(output, "study '")])


def results_quickstart(fig: dict[str, Any]) -> str:
    study = fig["study"]
    low, high = study["complete_range"]
    return (f"The quickstart (`bench/docs_numbers.py`, {conditions(fig)}): `make quickstart`, "
            f"once installed, runs {study['n_trials']} trials and {study['rerun_count']} re-runs "
            f"in {duration(fig['run_seconds'])}, {study['complete']} complete and "
            f"{study['pruned']} pruned ({study['failed']} failed), final validation accuracy "
            f"of the complete ones from {low:.2f} to {high:.2f}. {winner_sentence(fig)}\n")


def results_export(fig: dict[str, Any]) -> str:
    return code(["$ lrsearch export --storage sqlite:///quickstart.db --study quickstart "
                 "--out best/", *fig["export_output"]])


def results_confirm(fig: dict[str, Any]) -> str:
    confirm = fig["confirm"]
    head = confirm["headline"]
    verdict = ("its interval lies above 0" if head["low"] > 0 else
               "its interval lies below 0" if head["high"] < 0 else
               "its interval still includes 0: not established at this scale")
    return (f"The quickstart's confirmation ({fig['date']}, {len(confirm['seeds'])} seeds, "
            f"{duration(confirm['seconds'])} on {fig['machine']['cores']} CPU cores), the "
            f"per-run lines left out:\n\n"
            + code(confirm["output"])
            + f"\nThe winner by validation, {head['label']}, scored {head['mean']:.4f} on the "
            f"test set, {100 * head['margin']:+.1f} points over {head['reference']} (the "
            f"baseline best by validation), paired over {len(confirm['seeds'])} seeds; "
            f"{verdict}.\n")


def troubleshooting_export(fig: dict[str, Any]) -> str:
    return ("- `study 'NAME': no complete trial to export (...); run the study further, or pick "
            "one with\n  --trial N`, and "
            f"`{fig['export_missing_trial'].removeprefix('error: ')}`.\n")


BLOCKS: dict[str, tuple[str, Callable[[dict[str, Any]], str]]] = {
    "readme-run": ("README.md", readme_run),
    "readme-output": ("README.md", readme_output),
    "readme-trials": ("README.md", readme_trials),
    "results-output": ("docs/results.md", results_output),
    "results-quickstart": ("docs/results.md", results_quickstart),
    "results-export": ("docs/results.md", results_export),
    "results-confirm": ("docs/results.md", results_confirm),
    "troubleshooting-export": ("docs/troubleshooting.md", troubleshooting_export),
}
"""Block name -> (the file holding it, relative to the repository, and its renderer)."""


def render_blocks(fig: dict[str, Any]) -> dict[str, str]:
    """Every block's text, by name, from one run's figures."""
    return {name: render(fig) for name, (_, render) in BLOCKS.items()}


def apply_blocks(text: str, rendered: dict[str, str]) -> str:
    """``text`` with the body of each generated block it holds replaced by ``rendered``'s."""
    def replace(match: re.Match) -> str:
        name = match["name"]
        body = rendered[name] if name in rendered else match["body"]
        return match.group(1) + body + match.group(4)
    return MARKER.sub(replace, text)


def out_of_sync(repo: Path, fig: dict[str, Any]) -> list[str]:
    """What differs between the docs in ``repo`` and the blocks rendered from ``fig``: one line
    per block that is missing or holds other text (none: in sync)."""
    problems = []
    rendered = render_blocks(fig)
    for name, (path, _) in BLOCKS.items():
        found = {m["name"]: m["body"] for m in MARKER.finditer((repo / path).read_text())}
        if name not in found:
            problems.append(f"{path}: no block <!-- generated: {name} -->")
        elif found[name] != rendered[name]:
            problems.append(f"{path}: block {name} differs from what the saved figures render")
    return problems
