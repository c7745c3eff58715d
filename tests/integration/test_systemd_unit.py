"""The systemd unit: systemd-analyze verify accepts it, and its sandbox
scores an exposure of at most 2.0 (Debian's redis-server unit: 1.2).
Both work offline, without systemd as PID 1."""
import os
import re
import subprocess
import sys
import tempfile

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


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAIL {e}")
        sys.exit(1)
