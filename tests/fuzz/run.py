#!/usr/bin/env python3
"""Run one libFuzzer harness for a fixed time from its committed seed corpus
and report how many inputs it executed (docs/reliability.md, "Fuzzing").

usage: run.py --seconds S --figures FILE [--section SEC] [--keep DIR] NAME BINARY CORPUS

New inputs go to a scratch folder (a temporary one, removed at the end; or
DIR/NAME with --keep, for `make fuzz`), never into the seeds. A crash, leak,
timeout or out-of-memory leaves its input as DIR/crash-NAME-... (--keep) or
in the current folder, and fails the run with libFuzzer's report. The
number of executed inputs (libFuzzer's final stat::number_of_executed_units)
is written as `SEC.NAME_execs = N` (and the time as
`SEC.seconds_per_harness`) into FILE (the figures file that
scripts/reliability_doc.py copies into the document), replacing that line
of an earlier run; the environment's FUZZ_SECONDS and FUZZ_SECTION, when
set, override --seconds and --section (scripts/fuzz.sh)."""
import argparse
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile

EXECS = re.compile(r"^stat::number_of_executed_units:\s*(\d+)\s*$", re.M)


def write_figure(path, key, value):
    """Set `key = value` in the figures file at path, one writer at a time
    (harnesses run in parallel under ctest -j)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lines = []
        if os.path.exists(path):
            with open(path) as f:
                lines = [l for l in f if not l.startswith(key + " ")]
        lines.append(f"{key} = {value}\n")
        tmp = path + f".{os.getpid()}"
        with open(tmp, "w") as f:
            f.writelines(sorted(lines))
        os.replace(tmp, path)


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, required=True)
    ap.add_argument("--figures", required=True)
    ap.add_argument("--section", default="fuzz")
    ap.add_argument("--keep")
    ap.add_argument("name")
    ap.add_argument("binary")
    ap.add_argument("corpus")
    a = ap.parse_args(argv)
    seconds = int(os.environ.get("FUZZ_SECONDS", a.seconds))
    section = os.environ.get("FUZZ_SECTION", a.section)
    if a.keep:
        scratch = os.path.join(a.keep, a.name)
        os.makedirs(scratch, exist_ok=True)
        prefix = os.path.join(a.keep, f"crash-{a.name}-")
    else:
        scratch = tempfile.mkdtemp(prefix=f"fuzz-{a.name}-")
        prefix = f"crash-{a.name}-"
    cmd = [a.binary, f"-max_total_time={seconds}", "-rss_limit_mb=2048", "-max_len=65536",
           "-timeout=10", "-print_final_stats=1", f"-artifact_prefix={prefix}", scratch,
           a.corpus]
    try:
        with tempfile.TemporaryFile("w+") as log:
            rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT).returncode
            log.seek(0)
            out = log.read()
    finally:
        if not a.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    m = EXECS.findall(out)
    if rc != 0 or not m:
        # libFuzzer's report: the crash, its stack and the input's file name.
        sys.stdout.write(out[-20000:])
        print(f"fuzz_{a.name}: exit {rc}" + ("" if m else ", no final stats"))
        return rc or 1
    execs = int(m[-1])
    write_figure(a.figures, f"{section}.{a.name}_execs", execs)
    write_figure(a.figures, f"{section}.seconds_per_harness", seconds)
    print(f"fuzz_{a.name}: {execs} inputs in {seconds} s, no crash")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
