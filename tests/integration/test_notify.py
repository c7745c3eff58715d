"""sd_notify: with NOTIFY_SOCKET pointing at our own datagram socket, the
daemon says READY=1 once listening (without waiting for the database),
STATUS= with dependency state, WATCHDOG=1 on a timer, RELOADING=1 then
READY=1 on SIGHUP, and STOPPING=1 on SIGTERM."""
import os
import signal
import socket

import harness


class NotifySocket:
    def __init__(self, root):
        self.path = os.path.join(root, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.messages = []

    def drain(self):
        while True:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                return self.messages

    def wait_for(self, needle, timeout=10):
        return harness.wait_until(lambda: any(needle in m for m in self.drain()),
                                  timeout=timeout, what=f"notify message {needle!r}")

    def close(self):
        self.sock.close()
        os.unlink(self.path)


def test_notify_lifecycle(w):
    w.pg.stop()  # READY=1 must not wait for the database
    n = NotifySocket(w.root)
    try:
        d = w.daemon(env={"NOTIFY_SOCKET": n.path, "WATCHDOG_USEC": "300000"})
        n.wait_for("READY=1")
        ready = [m for m in n.messages if "READY=1" in m][0]
        assert "STATUS=" in ready and "postgres down" in ready, ready
        # Pinged on a timer at half WATCHDOG_USEC, again and again.
        assert "watchdog every 150 ms" in d.log(), d.log()
        n.wait_for("WATCHDOG=1")
        before = sum("WATCHDOG=1" in m for m in n.drain())
        harness.wait_until(lambda: sum("WATCHDOG=1" in m for m in n.drain()) >= before + 2,
                           what="two more watchdog pings")
        w.pg.start()
        n.wait_for("postgres up")
        n.messages.clear()
        d.signal(signal.SIGHUP)
        n.wait_for("READY=1")
        reload_msgs = n.messages
        rel = [i for i, m in enumerate(reload_msgs) if "RELOADING=1" in m]
        rdy = [i for i, m in enumerate(reload_msgs) if "READY=1" in m]
        assert rel and rdy and rel[0] < rdy[-1], reload_msgs
        assert "MONOTONIC_USEC=" in reload_msgs[rel[0]]
        d.signal(signal.SIGTERM)
        n.wait_for("STOPPING=1")
        assert d.wait_exit() == 0
    finally:
        n.close()
        if not os.path.exists(os.path.join(w.pg.dir, "data", "postmaster.pid")):
            w.pg.start()


if __name__ == "__main__":
    harness.run(globals())
