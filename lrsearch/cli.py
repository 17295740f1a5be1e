"""The ``lrsearch`` command line: thin wrappers that parse, call the library and print.

Only lrsearch's own errors are caught (one clear message, exit code 1); ``--debug`` shows the
traceback.
"""

from __future__ import annotations

import functools
import json
import sys
import warnings
from pathlib import Path

import click

from lrsearch.errors import LrsearchError
from lrsearch.text import counted
from lrsearch.version import __version__


def friendly_errors(func):
    """Turn an :class:`LrsearchError`, a storage failure or a file-system error into a
    one-message exit (traceback only with --debug)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from optuna.exceptions import StorageInternalError
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return func(*args, **kwargs)
        except (LrsearchError, SQLAlchemyError, StorageInternalError, OSError) as exc:
            if click.get_current_context().find_root().params.get("debug"):
                raise
            click.secho(f"error: {_one_line(exc)}", fg="red", err=True)
            sys.exit(1)

    return wrapper


def _one_line(exc: Exception) -> str:
    """What went wrong, in words: lrsearch's own message, or the storage's or the file
    system's cause with what to do (bounded: a database error may quote a whole statement)."""
    from optuna.exceptions import StorageInternalError
    from sqlalchemy.exc import SQLAlchemyError

    from lrsearch.records import storage_failed_line

    if isinstance(exc, LrsearchError):
        return str(exc)
    if isinstance(exc, (SQLAlchemyError, StorageInternalError)):
        # Optuna wraps the database's error: storage_failed_line reads its cause.
        context = click.get_current_context()
        return storage_failed_line(context.meta.get(_STORAGE_META) or
                                   context.params.get("storage"), exc)
    where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
    return f"{exc.strerror or exc}{where}"


# Where a command keeps the storage URL it uses when a study file names it (not --storage).
_STORAGE_META = "lrsearch.storage_url"


# The storage URL from the environment: a password kept out of the command line (`ps`).
STORAGE_ENV = "LRSEARCH_STORAGE"


def storage_option(overrides_file: bool = False):
    """``--storage URL`` or ``$LRSEARCH_STORAGE``: required, except where it overrides the
    study file's (``run``)."""
    return click.option("--storage", required=not overrides_file, envvar=STORAGE_ENV,
                        show_envvar=True,
                        help="SQLAlchemy URL of the study storage"
                             + (" (overrides the file)." if overrides_file else "."))


study_option = click.option("--study", "study_name",
                            help="Name of the study (optional when the storage holds one).")


def _checked_device(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--device`` takes what a study file's ``training.device`` takes."""
    import re

    from lrsearch.config import DEVICE_PATTERN

    if value is not None and not re.fullmatch(DEVICE_PATTERN, value):
        raise click.BadParameter(f"got {value!r}; one of auto, cpu, cuda or cuda:N (a GPU's "
                                 f"index), as training.device in a study file")
    return value


device_option = click.option("--device", callback=_checked_device, metavar="auto|cpu|cuda|cuda:N",
                             help="Training device (overrides training.device).")
# Resolved where the command runs: a relative folder is stored absolute in the study's config.
data_dir_option = click.option("--data-dir", type=click.Path(file_okay=False, resolve_path=True),
                               help="Folder of the data set.")
threads_option = click.option(
    "--threads", type=click.IntRange(min=1),
    help="CPU threads of the training (overrides training.threads; default: torch's choice, at "
         "most the cores this process may use; --workers share them). On a machine others "
         "use too, give your share.")


@click.group()
@click.version_option(__version__, prog_name="lrsearch")
@click.option("--debug", is_flag=True, help="Show tracebacks of lrsearch's own errors.")
def main(debug: bool) -> None:
    """Find the best learning-rate schedule for a model, and take it home."""
    if not debug:  # a warning is one line, as an error is (Python's names the source line)
        click.get_current_context().with_resource(warnings.catch_warnings())
        warnings.showwarning = _show_warning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    click.secho(f"warning: {message}", fg="yellow", err=True)


@main.command()
def families() -> None:
    """List the schedule families, their parameters, valid ranges and search ranges.

    Values are written as in a study file (YAML); the families a study searches when its
    file names none are marked.
    """
    from lrsearch.config import DEFAULT_FAMILIES
    from lrsearch.schedules import list_families

    for info in list_families():
        torch_name = f"  (= torch {info.torch_equivalent})" if info.torch_equivalent else ""
        default = "  [searched by default]" if info.name in DEFAULT_FAMILIES else ""
        click.secho(f"{info.name}: {info.summary}{torch_name}{default}", bold=True)
        for param in info.params:
            rule = (f"must be one of {_yaml(param.choices)}" if param.kind == "choice"
                    else param.rule())
            click.echo(f"    {param.name}: {param.help}; {rule}; default "
                       f"{_yaml(param.default)}; {_searched(param.search)}")
    click.echo(f"\nleft out of a study file, search_space.families is "
               f"{_yaml(DEFAULT_FAMILIES)}")


def _yaml(value) -> str:
    """``value`` as a study file writes it: ``false``, ``[0.5, 0.75]``, ``cos``."""
    import yaml

    if isinstance(value, tuple):
        value = list(value)
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def _searched(search) -> str:
    """A parameter's default search range in words."""
    if search.choices is not None:
        return f"searched among {_yaml(search.choices)}"
    if search.low is None:
        return "searched as its own kind (see docs/schedules.md)"
    scale = ", log scale" if search.log else ""
    return f"searched in [{search.low:g}, {search.high:g}]{scale}"


@main.command()
@click.argument("spec_path", type=click.Path(dir_okay=False))
@click.option("--code", is_flag=True, help="Print the spec as standalone PyTorch code.")
@click.option("--steps", type=int, default=None, help="Lay the spec onto this many steps.")
@friendly_errors
def show(spec_path: str, code: bool, steps: int | None) -> None:
    """Check a schedule spec JSON: sketch its LR curve, sample LRs, and print the spec (or
    its PyTorch code)."""
    from lrsearch.schedules import load_spec, sample_lrs, sketch

    spec = load_spec(spec_path)
    if steps is not None:
        spec = spec.with_total_steps(steps)
    if code:
        click.echo(spec.to_torch_code())
        return
    if spec.info.metric_driven:
        click.echo(f"{spec.family}: driven by the validation metric, so no curve to draw")
    else:
        click.echo(f"{spec.family}, peak_lr {spec.peak_lr:g}, {spec.total_steps} steps")
        horizon = _exported_horizon(spec_path)
        if horizon is not None:
            from lrsearch.report import horizon_line

            click.echo(horizon_line(horizon))
        click.echo(sketch(spec))
        click.echo(sample_lrs(spec))
    click.echo(json.dumps(spec.to_dict(), indent=2))


def _exported_horizon(path: str) -> dict | None:
    """The ``horizon`` of an exported ``best_schedule.json`` (``export --epochs``), or None."""
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return document.get("horizon") if isinstance(document, dict) else None


@main.command()
@click.argument("study_file", type=click.Path(dir_okay=False))
@friendly_errors
def validate(study_file: str) -> None:
    """Check a study file and list every problem at once (nothing is run or stored).

    A module:function model or data set is imported, not called: its outputs and the
    images are checked when a run starts (that needs torch).
    """
    from lrsearch.config import is_factory, load_study
    from lrsearch.errors import ConfigError
    from lrsearch.records import storage_problems
    from lrsearch.search import SearchSpace, checkpoint_problems, grid_size, sampler_problems
    from lrsearch.user_code import user_code_problems

    config = load_study(study_file)
    problems = (sampler_problems(config) + checkpoint_problems(config)
                + storage_problems(config.storage) + user_code_problems(config))
    if problems:
        raise ConfigError(problems, source=f"study file {study_file}")
    space = SearchSpace.from_config(config)
    described = space.as_dict()
    auto = (f", peak_lr auto for {space.auto_optimizers} (LR range test at the start)"
            if space.auto_optimizers else "")
    grid = (f", a grid of {grid_size(space):,} trials ({space.grid_points} values per searched "
            f"number)" if space.grid_points is not None else "")
    click.echo(f"{study_file}: ok; study {config.name!r}, {counted(config.n_trials, 'trial')} of "
               f"{config.training.epochs} epochs ({config.model} on {config.data.dataset}), "
               f"families {list(described['families'])}, optimizers "
               f"{list(described['optimizers'])}, {counted(len(config.baselines), 'baseline')}"
               f"{grid}{auto}")
    if any(is_factory(ref) for ref in (config.model, config.data.dataset)):
        click.echo("  your model and data functions import; their outputs are checked when "
                   "lrsearch run starts (that needs torch)")
    for problem in _device_problems(config.training.device):  # the run may be on another machine
        click.secho(f"warning: {problem}; a run on this machine would stop there", fg="yellow",
                    err=True)


def _device_problems(device: str) -> list[str]:
    """The training device's problem on this machine, checked as a run would (where torch is
    installed)."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return []
    from lrsearch.train import resolve_device

    try:
        resolve_device(device)
    except LrsearchError as exc:
        return [str(exc)]
    return []


@main.command()
@click.argument("study_file", type=click.Path(dir_okay=False))
@storage_option(overrides_file=True)
@click.option("--n-trials", type=click.IntRange(min=1), help="Finished trials in all.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True),
              help="Start no trial after this many seconds.")
@device_option
@data_dir_option
@threads_option
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes on this machine (needs PostgreSQL or MySQL storage).")
@click.option("--trials-per-gpu", type=click.IntRange(min=1), default=None,
              help="K worker processes on each GPU (K in all without one): more trials per "
                   "hour where one small model cannot fill a GPU; needs PostgreSQL or MySQL "
                   "storage. Instead of --workers.")
@click.option("--quiet", is_flag=True, help="No progress output.")
@click.option("--worker-index", type=click.IntRange(min=0), default=0, show_default=True,
              help="This worker's index when several machines join one study (offsets the "
                   "sampler's seed; give each machine its own).")
@friendly_errors
def run(study_file: str, storage: str | None, n_trials: int | None, timeout: float | None,
        device: str | None, data_dir: str | None, threads: int | None, workers: int,
        trials_per_gpu: int | None, quiet: bool, worker_index: int) -> None:
    """Run or resume a study (the same name and storage resume it)."""
    from lrsearch.config import load_study
    from lrsearch.launch import TERMINATED_EXIT_CODE, check_workers, run_workers, stop_on_sigterm
    from lrsearch.records import score_text
    from lrsearch.report import DashboardRefresher
    from lrsearch.search import run_study

    if trials_per_gpu is not None and workers != 1:
        raise click.UsageError(f"--workers {workers} and --trials-per-gpu {trials_per_gpu}: "
                               f"give one of them (--trials-per-gpu K starts K per GPU)")
    config = load_study(study_file, {"storage": storage, "n_trials": n_trials,  # None: as filed
                                     "timeout_s": timeout, "training.device": device,
                                     "data.data_dir": data_dir, "training.threads": threads})
    click.get_current_context().meta[_STORAGE_META] = config.storage
    asked = None
    if trials_per_gpu is not None:
        from lrsearch.launch import gpu_count, workers_per_gpu

        gpus = 0 if config.training.device.startswith("cpu") else gpu_count()
        workers = workers_per_gpu(trials_per_gpu, gpus)
        asked = f"--trials-per-gpu {trials_per_gpu} ({counted(workers, 'worker')})"
    check_workers(config.storage, workers, asked)
    progress = "off" if quiet else None
    debug = bool(click.get_current_context().find_root().params.get("debug"))
    # lrsearch's figures and note in the study for optuna-dashboard, kept current while trials
    # finish: by this process, one per machine (the parent of --workers K, not each worker).
    refresher = DashboardRefresher()
    # SIGTERM (kill, timeout, Slurm, docker stop) stops the run as Ctrl-C does, exit code 143.
    with stop_on_sigterm() as sigterm:
        try:
            try:
                if workers > 1:
                    summary, code = run_workers(config, workers, debug=debug,
                                                progress=progress, callbacks=[refresher])
                else:
                    # Without --debug an exception inside a trial fails that trial only.
                    summary = run_study(config, worker_index=worker_index, progress=progress,
                                        raise_trial_errors=debug, callbacks=[refresher])
                    code = 130 if summary.interrupted else 0
            finally:
                refresher.flush()
        except KeyboardInterrupt:
            click.secho(f"{_stopped_by(sigterm.fired)}: run the same command to resume",
                        fg="yellow", err=True)
            sys.exit(TERMINATED_EXIT_CODE if sigterm.fired else 130)
    if sigterm.fired and summary.interrupted:
        code = TERMINATED_EXIT_CODE
    if not quiet:
        best = ("no completed trial yet" if summary.best_value is None else
                f"best {config.metric} {score_text(summary.best_seed_values)} (trial "
                f"{summary.best_trial}, {summary.best_family})")
        stopped = (f", {summary.interrupted_trials} interrupted (the next run continues it)"
                   if summary.interrupted_trials else "")
        click.echo(f"study {summary.study_name!r} in {summary.storage}: {summary.complete} "
                   f"complete, {summary.pruned} pruned, {summary.failed} failed{stopped}; "
                   f"{best}")
        for line in summary.missing_baselines:
            click.secho(f"warning: {line}", fg="yellow", err=True)
        if summary.checkpoints_left is not None:
            folder, files, size = summary.checkpoints_left
            click.echo(f"kept for trials that resume: {files} checkpoint file"
                       f"{'s' if files > 1 else ''} ({size / 1e6:.1f} MB) in {folder}")
        if summary.best_value is not None and not summary.interrupted:
            where = f"--storage {summary.storage} --study {summary.study_name}"
            click.echo(f"next: lrsearch report {where} --out report.html\n"
                       f"      lrsearch export {where} --out best\n"
                       f"      lrsearch confirm {where}\n"
                       f"      lrsearch dashboard --storage {summary.storage}")
    if summary.interrupted:
        click.secho(f"{_stopped_by(sigterm.fired)}: run the same command to resume",
                    fg="yellow", err=True)
    sys.exit(code)


def _stopped_by(sigterm: bool) -> str:
    return "terminated (SIGTERM)" if sigterm else "interrupted"


@main.command()
@click.argument("study_file", type=click.Path(dir_okay=False, exists=True))
@storage_option(overrides_file=True)
@click.option("--workers", type=click.IntRange(min=1), required=True,
              help="Array tasks, one worker each.")
@click.option("--time", "time_limit", help="Time limit per task, e.g. 4:00:00.")
@click.option("--partition", help="Slurm partition.")
@click.option("--cpus-per-task", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--gpus-per-task", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--mem", help="Memory per task, e.g. 16G.")
@device_option
@data_dir_option
@click.option("--out", "script_path", type=click.Path(dir_okay=False),
              help="Where to write the sbatch script (default: lrsearch-NAME.sbatch next to "
                   "the study file).")
@click.option("--submit/--no-submit", default=True, show_default=True,
              help="Submit it with sbatch, or only write it.")
@friendly_errors
def slurm(study_file: str, storage: str | None, workers: int, time_limit: str | None,
          partition: str | None, cpus_per_task: int, gpus_per_task: int, mem: str | None,
          device: str | None, data_dir: str | None, script_path: str | None,
          submit: bool) -> None:
    """Run a study as a Slurm job array: each array task is one worker (its own index)."""
    from pathlib import Path

    from lrsearch.config import load_study
    from lrsearch.launch import SlurmJob, check_workers, task_options, write_script
    from lrsearch.launch import submit as submit_job

    study = Path(study_file).resolve()
    config = load_study(study, {"storage": storage, "training.device": device,  # None: as filed
                                "data.data_dir": data_dir})
    click.get_current_context().meta[_STORAGE_META] = config.storage
    check_workers(config.storage, workers, option=f"--workers {workers}")
    work_dir = Path.cwd()
    job = SlurmJob(study, config.name, workers, study.parent / "slurm-logs", work_dir,
                   time_limit, partition, cpus_per_task, gpus_per_task, mem,
                   task_options(config, work_dir, storage is not None, device))
    script = Path(script_path) if script_path else study.with_name(f"lrsearch-{config.name}.sbatch")
    job.log_dir.mkdir(parents=True, exist_ok=True)
    write_script(job, script)
    if not submit:
        click.echo(f"wrote {script}: submit it with sbatch {script}")
        return
    job_id = submit_job(script)
    click.echo(f"submitted job {job_id}: {counted(workers, 'worker')} of study "
               f"{config.name!r} (wrote {script}); watch: squeue -j {job_id}; logs in "
               f"{job.log_dir}")


@main.command("find-lr")
@click.argument("study_file", type=click.Path(dir_okay=False))
@click.option("--optimizer", "optimizer_name",
              help="Which of the study's optimizers to test (default: the first).")
@click.option("--out", "out_dir", default="lr-range-test", show_default=True,
              type=click.Path(file_okay=False),
              help="Folder for lr_range_test_<optimizer>.html (plot) and .json (curve).")
@data_dir_option
@device_option
@threads_option
@click.option("--steps", type=click.IntRange(min=10, max=1000),
              help="Steps of the LR ramp (overrides lr_range_test.num_steps).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@friendly_errors
def find_lr(study_file: str, optimizer_name: str | None, out_dir: str, data_dir: str | None,
            device: str | None, threads: int | None, steps: int | None, quiet: bool) -> None:
    """LR range test on the study's model and data: plot and suggested peak LR.

    Nothing is stored in the study, and the model and optimizer are left as they were.
    """
    from lrsearch.config import load_study
    from lrsearch.report import write_range_test
    from lrsearch.search import SearchSpace, range_test_record, run_range_test

    config = load_study(study_file, {"training.device": device, "data.data_dir": data_dir,
                                     "lr_range_test.num_steps": steps,
                                     "training.threads": threads})
    space = SearchSpace.from_config(config)
    name = optimizer_name or next(iter(space.optimizers))
    result = run_range_test(config, space, name, progress="off" if quiet else None)
    record = range_test_record(result, config.lr_range_test.width)
    paths = write_range_test(record, out_dir, f"lr_range_test_{name}")
    others = ", ".join(f"{rule} {lr:.3g}" for rule, lr in result.suggestions.items()
                       if rule != result.settings.rule)
    span = record["search_range"]
    click.echo(f"{name}: suggested peak LR {result.suggested_lr:.3g} ({result.settings.rule}; "
               f"{others})")
    click.echo(f"  {len(result.lrs)} of {result.settings.num_steps} steps on "
               f"{result.device_name} in {result.seconds:.1f} s"
               f"{f'; stopped: {result.stopped}' if result.stopped else ''}")
    click.echo(f"  peak_lr: auto would search [{span['low']:.3g}, {span['high']:.3g}] "
               f"(suggestion / {record['width']:g} to x {record['width']:g})")
    click.echo("wrote " + ", ".join(str(p) for p in paths))


@main.command()
@storage_option()
@study_option
@click.option("--out", default="report.html", show_default=True,
              type=click.Path(dir_okay=False), help="HTML file to write.")
@click.option("--top", "top_k", type=click.IntRange(min=1), default=10, show_default=True,
              help="How many of the best trials to detail.")
@friendly_errors
def report(storage: str, study_name: str, out: str, top_k: int) -> None:
    """Write a self-contained HTML report of a study (opens offline)."""
    from lrsearch.records import redact_url
    from lrsearch.report import extract_report, load_report_study, write_report

    study = load_report_study(storage, study_name)
    data = extract_report(study, top_k, storage=redact_url(storage))
    path = write_report(data, out)
    best = ("no complete trial yet" if data.best is None else
            f"best {data.metric} {data.best.value:.4f} (trial {data.best.number}, "
            f"{data.best.family})")
    margin = "" if data.margin is None else f", {data.margin:+.4f} over the best baseline"
    click.echo(f"wrote {path}: {counted(sum(data.counts.values()), 'trial')}; {best}{margin}")


@main.command()
@storage_option()
@study_option
@click.option("--top", "top_k", type=click.IntRange(min=1), default=3, show_default=True,
              help="How many of the best non-baseline trials to confirm.")
@click.option("--seeds", type=click.IntRange(min=1), default=3, show_default=True,
              help="Fresh seeds per schedule (the same for all: paired).")
@device_option
@data_dir_option
@threads_option
@friendly_errors
def confirm(storage: str, study_name: str, top_k: int, seeds: int, device: str | None,
            data_dir: str | None, threads: int | None) -> None:
    """Re-train the top schedules and the baselines with fresh seeds; evaluate on the test set.

    Trains on the full training set (the validation images included), stores the results in
    the study (the report shows them) and prints the headline (the schedule best by
    validation against the baseline best by validation, paired by seed, with a 95% interval
    from 3 seeds on), then each schedule's mean, spread and margin. Running it again resumes
    or extends it.
    """
    from lrsearch.report import confirmation_headline as headline
    from lrsearch.report import extract_confirmation, load_report_study
    from lrsearch.search import confirm_study

    study = load_report_study(storage, study_name)
    overrides = {key: value for key, value in
                 {"training.device": device, "data.data_dir": data_dir,
                  "training.threads": threads}.items() if value}

    def on_run(row: dict) -> None:
        click.echo(f"{row['label']}: seed {row['seed']} test_acc {row['test_acc']:.4f} "
                   f"({row['seconds']:.0f} s)")

    data = extract_confirmation(confirm_study(study, top_k, seeds, overrides=overrides,
                                              on_run=on_run))
    click.echo(headline(data))
    click.echo("all confirmed schedules, by test mean (exploratory: choosing by it would pick "
               "on the test set)")
    click.echo(f"{'schedule':<24}{data.metric + ' mean':>16}{'std':>9}{'margin':>10}{'95% ±':>9}"
               f"   (paired over {data.reference or 'no baseline'}, {len(data.seeds)} seeds)")
    for row in data.rows:
        std = "—" if row.summary.std is None else f"{row.summary.std:.4f}"
        margin = "—" if row.margin is None else f"{row.margin.mean:+.4f}"
        half = "—" if row.margin is None or row.margin.half_width is None else \
            f"{row.margin.half_width:.4f}"
        click.echo(f"{row.label:<24}{row.summary.mean:>16.4f}{std:>9}{margin:>10}{half:>9}")


@main.command()
@storage_option()
@study_option
@click.option("--out", "out_dir", default=".", show_default=True,
              type=click.Path(file_okay=False), help="Folder to write the two files into.")
@click.option("--trial", type=click.IntRange(min=0), default=None,
              help="Export this trial instead of the best complete one.")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Lay the schedule onto your own training of this many epochs, with the "
                   "peak LR the study measured for it (run the study with target_epochs).")
@click.option("--force", is_flag=True,
              help="With --epochs: transfer past the length the evidence supports.")
@friendly_errors
def export(storage: str, study_name: str, out_dir: str, trial: int | None, epochs: int | None,
           force: bool) -> None:
    """Write best_schedule.json (spec + optimizer) and best_schedule.py (plain PyTorch)."""
    from lrsearch.records import redact_url, score_text, trial_reason
    from lrsearch.report import export_best, horizon_line, load_report_study, write_export

    study = load_report_study(storage, study_name)
    result = write_export(export_best(study, trial, storage=redact_url(storage), epochs=epochs,
                                      force=force), out_dir)
    source = result.document["source"]
    chosen = study.trials[source["trial"]]
    if chosen.state.name != "COMPLETE":
        why = trial_reason(chosen)
        click.secho(f"warning: trial {chosen.number} is {chosen.state.name.lower()}"
                    f"{f' ({why})' if why else ''}: its schedule never ran to the end, so no "
                    f"value says it is good", fg="yellow", err=True)
    value = score_text(source["seed_values"]) if source["seed_values"] else "no value"
    click.echo(f"trial {source['trial']} ({result.spec.family}, {source['metric']} "
               f"{value}): wrote " + ", ".join(str(p) for p in result.paths))
    if "horizon" in result.document:
        click.echo(horizon_line(result.document["horizon"]))


@main.command()
@storage_option()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True,
              help="Port to listen on (one already taken is refused with a clear error).")
@click.option("--no-refresh", is_flag=True,
              help="Do not re-save lrsearch's figures into the studies first.")
@friendly_errors
def dashboard(storage: str, host: str, port: int, no_refresh: bool) -> None:
    """Start optuna-dashboard on the storage (Ctrl-C stops it)."""
    from lrsearch.report import serve_dashboard

    def ready(url: str) -> None:  # the storage is open and the port bound: say where
        click.echo(f"optuna-dashboard on {url} (Ctrl-C to stop)")

    serve_dashboard(storage, host=host, port=port, refresh=not no_refresh, on_ready=ready)


if __name__ == "__main__":  # pragma: no cover
    main()
