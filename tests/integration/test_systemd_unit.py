"""The systemd unit: systemd-analyze verify accepts it, and its sandbox
scores an exposure of at most 2.0 (Debian's redis-server unit: 1.2).
Both work offline, without systemd as PID 1. And the environment it gives
dispatchd makes both its ExecStartPre check and dispatchd itself refuse a
test clock ([testing] clock), which they accept without it."""
import os
import re
import shlex
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (reliability_report only: no services here)

SOURCE_DIR = os.environ.get("DISPATCH_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD_DIR = os.environ.get("DISPATCH_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
UNIT = os.path.join(SOURCE_DIR, "systemd", "dispatchd.service")


def main():
    with open(UNIT) as f:
        text = f.read()
    for needle in ["Type=notify", "WatchdogSec=", "ExecReload=", "Restart=on-failure",
                   "ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes",
                   "RestrictAddressFamilies=", "SystemCallFilter=@system-service", "User=dispatchd"]:
        assert needle in text, f"unit lacks {needle}"
    with tempfile.TemporaryDirectory() as tmp:
        # verify checks that ExecStart= binaries exist: point them at this build.
        unit = os.path.join(tmp, "dispatchd.service")
        with open(unit, "w") as f:
            f.write(text.replace("/usr/bin/dispatchd", os.path.join(BUILD_DIR, "dispatchd")))
        r = subprocess.run(["systemd-analyze", "verify", "--man=no", "--recursive-errors=no", unit],
                           capture_output=True, text=True)
        assert r.returncode == 0 and "dispatchd.service" not in r.stderr, r.stderr
        r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=20", unit],
                           capture_output=True, text=True)
        m = re.search(r"Overall exposure level for dispatchd.service: ([0-9.]+)", r.stdout)
        assert r.returncode == 0 and m, r.stdout[-2000:] + r.stderr
        exposure = float(m.group(1))
        assert exposure <= 2.0, exposure
        print(f"ok   systemd-analyze verify; security exposure {exposure}")
        harness.reliability_report("systemd_unit", {"security_exposure": exposure})
        check_test_clock_refused(text, tmp)


def unit_environment(text):
    """The variables the unit's Environment= lines set (later lines win)."""
    env = {}
    for line in text.splitlines():
        if line.startswith("Environment="):
            for word in shlex.split(line[len("Environment="):]):
                k, _, v = word.partition("=")
                env[k] = v
    return env


def check_test_clock_refused(text, tmp):
    unit_env = unit_environment(text)
    assert unit_env.get("DISPATCH_FORBID_TEST_CLOCK") == "1", unit_env
    # EnvironmentFile= (operator-editable) comes before, so cannot override it.
    lines = text.splitlines()
    env_file = [i for i, l in enumerate(lines) if l.startswith("EnvironmentFile=")]
    forbid = [i for i, l in enumerate(lines) if "DISPATCH_FORBID_TEST_CLOCK" in l
              and l.startswith("Environment=")]
    assert all(f > e for f in forbid for e in env_file), "Environment= must follow EnvironmentFile="
    conf = os.path.join(tmp, "clock.conf")
    dispatchd = os.path.join(BUILD_DIR, "dispatchd")
    base = {k: v for k, v in os.environ.items() if k != "DISPATCH_FORBID_TEST_CLOCK"}
    for clock in ("[testing]\nclock = fixed\nclock_at = 2030-01-08T10:59:00+08:00\n",
                  "[testing]\nclock = offset\nclock_offset_s = 60\n"):
        with open(conf, "w") as f:
            f.write(clock)
        ok = subprocess.run([dispatchd, "--check-config", "-c", conf], env=base,
                            capture_output=True, text=True)
        assert ok.returncode == 0, ok.stderr
        # The unit's ExecStartPre= and ExecStart= both see the unit's environment.
        for argv in ([dispatchd, "--check-config", "-c", conf], [dispatchd, "-c", conf]):
            r = subprocess.run(argv, env=dict(base, **unit_env), capture_output=True, text=True,
                               timeout=30)
            assert r.returncode == 1 and "DISPATCH_FORBID_TEST_CLOCK" in r.stderr, (argv, r)
    with open(conf, "w") as f:
        f.write("[testing]\nclock = system\n")
    r = subprocess.run([dispatchd, "--check-config", "-c", conf], env=dict(base, **unit_env),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    print("ok   the unit's environment refuses a test clock")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAIL {e}")
        sys.exit(1)
