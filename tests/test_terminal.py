"""``lrsearch run`` as a user sees it on a terminal (a real pseudo-terminal) and in a pipe: a
line per finished trial that stays, a bar with the best so far (at once after a resume) and
the time left, Ctrl-C shown as an interrupted trial, the next commands at the end."""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

from tests.search._processes import hears_ctrl_c
from tests.search.conftest import write_study

COLUMNS = 150
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_on_a_terminal(args: list[str], interrupt_when: str | None = None,
                      timeout_s: float = 240) -> tuple[int, str]:
    """Run ``python -m lrsearch.cli ARGS`` with stdin, stdout and stderr on a pseudo-terminal
    ``COLUMNS`` wide; SIGINT once the output matches the regex ``interrupt_when``. Its exit
    code and all it wrote, as the terminal received it."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, COLUMNS, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(COLUMNS),
           "OMP_NUM_THREADS": "1"}
    env.pop("CI", None)  # rich would treat CI as a non-interactive terminal
    proc = subprocess.Popen([sys.executable, "-m", "lrsearch.cli", *args], stdin=slave,
                            stdout=slave, stderr=slave, env=env, close_fds=True,
                            preexec_fn=hears_ctrl_c)
    os.close(slave)
    out, sent, deadline = b"", False, time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the terminal closed: the process has exited
                    break
                if not chunk:
                    break
                out += chunk
            shown = _plain(out.decode(errors="replace"))
            if interrupt_when and not sent and re.search(interrupt_when, shown):
                proc.send_signal(signal.SIGINT)
                sent = True
            if proc.poll() is not None and not ready:
                break
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return code, out.decode(errors="replace")


def _plain(text: str) -> str:
    return _ANSI.sub("", text)


def _lines(text: str) -> list[str]:
    """What stays on the screen: the lines the bar's redraws left, escape codes stripped."""
    text = _plain(text).replace("\r\n", "\n")
    return [part.split("\r")[-1].strip() for part in text.split("\n")]


def test_a_terminal_run_shows_trial_lines_a_bar_and_what_to_run_next(tmp_path):
    path = write_study(tmp_path, n_trials=4)
    code, out = run_on_a_terminal(["run", str(path)])
    assert code == 0, out[-3000:]
    assert "\x1b[" in out  # the bar redraws itself
    lines = _lines(out)
    trial_lines = [line for line in lines if re.match(r"trial \d+ (complete|pruned) ", line)]
    # One line per finished trial, in order, with its state, family, value, time, best so far.
    assert [int(line.split()[1]) for line in trial_lines] == [0, 1, 2, 3], trial_lines
    assert all(re.search(r" val_acc (\d\.\d{4}|-).* min; best: \d\.\d{4} \(trial \d+, \w+\)$",
                         line) for line in trial_lines), trial_lines
    assert "[baseline cosine]" in trial_lines[0]
    assert re.search(r"trials .*\d/4 .*best: \d\.\d{4}.*left", _plain(out)), "no bar with ETA"
    assert any(line.startswith("study 'tiny' in sqlite:///") for line in lines)
    assert any(line.startswith("next: lrsearch report --storage ") for line in lines)
    assert "Traceback" not in out

    # A resume shows the best so far at once, before its first trial ends.
    code, out = run_on_a_terminal(["run", str(path), "--n-trials", "6"])
    assert code == 0, out[-3000:]
    before_first_trial = _plain(out).split("trial 4 ")[0]
    assert re.search(r"4/6 .*best: \d\.\d{4} \(trial \d+", before_first_trial), before_first_trial

    # Ctrl-C during a trial: shown as interrupted (not failed), and how to go on.
    long = write_study(tmp_path, name="long", n_trials=2, baselines=[], pruner={"name": "none"},
                       training={"epochs": 30, "batch_size": 32, "device": "cpu", "seed": 0})
    # The bar redraws a few times a second and may skip an epoch: any of 2 to 20 will do.
    code, out = run_on_a_terminal(["run", str(long)],
                                  interrupt_when=r"trial 0: epoch ([2-9]|1\d|20)/30")
    assert code == 130, out[-3000:]
    lines = _lines(out)
    assert any(re.match(r"trial 0 interrupted ", line) for line in lines), lines[-15:]
    assert not any(re.match(r"trial 0 fail", line) for line in lines)
    assert "0 failed, 1 interrupted (the next run continues it)" in _plain(out)
    assert "interrupted: run the same command to resume" in _plain(out)
    assert "Traceback" not in out


def test_piped_output_keeps_plain_lines(tmp_path):
    path = write_study(tmp_path, n_trials=3)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "lrsearch.cli", "run", str(path)],
                          capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    both = done.stdout + done.stderr
    assert "\r" not in both and "\x1b[" not in both
    trial_lines = [line for line in done.stderr.splitlines() if re.match(r"trial \d+ ", line)]
    assert [int(line.split()[1]) for line in trial_lines] == [0, 1, 2]
    assert "next: lrsearch report" in both
