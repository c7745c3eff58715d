"""scripts/reliability_doc.py on a scratch document and figures file (CTest
lint_reliability_doc, label unit, no services): the block between the
markers becomes the table of the figures, the rest of the document is kept
byte for byte, --check tells a stale block from a current one, a section of
the figures replaces only that section's rows, and a malformed figures line
is refused."""
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "reliability_doc.py")


def run(*args):
    return subprocess.run([sys.executable, SCRIPT] + list(args), capture_output=True, text=True)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        fig, doc = os.path.join(tmp, "reliability.txt"), os.path.join(tmp, "doc.md")
        with open(fig, "w") as f:
            f.write("sigkill.rounds_survived = 20\nredis.flushes = 3\n")
        head, tail = "# Doc\n\ntext before\n\n", "\n\ntext after\n"
        with open(doc, "w") as f:
            f.write(head + "<!-- figures:begin -->\nold\n<!-- figures:end -->" + tail)
        assert run("--check", tmp, doc).returncode == 1, "a stale block passed --check"
        r = run(tmp, doc)
        assert r.returncode == 0, r.stderr
        text = open(doc).read()
        assert text.startswith(head) and text.endswith(tail), text
        assert "| sigkill | rounds survived | 20 |" in text, text
        assert "| redis | flushes | 3 |" in text, text
        assert text.index("| redis |") < text.index("| sigkill |"), text
        assert "old" not in text, text
        assert run("--check", tmp, doc).returncode == 0, "a current block failed --check"
        # A figures file with one section replaces that section's rows only.
        with open(fig, "w") as f:
            f.write("fuzz.cfg_execs = 1234\n")
        assert run(tmp, doc).returncode == 0
        text = open(doc).read()
        assert "| fuzz | cfg execs | 1234 |" in text, text
        assert "| sigkill | rounds survived | 20 |" in text, text
        assert "| redis | flushes | 3 |" in text, text
        with open(fig, "w") as f:
            f.write("fuzz.order_body_execs = 99\n")
        assert run(tmp, doc).returncode == 0
        text = open(doc).read()
        assert "| fuzz | order body execs | 99 |" in text and "cfg execs" not in text, text
        assert "| sigkill | rounds survived | 20 |" in text, text
        assert run("--check", tmp, doc).returncode == 0, "a merged block failed --check"
        with open(fig, "a") as f:
            f.write("no equals sign here\n")
        r = run(tmp, doc)
        assert r.returncode != 0 and "not 'section.name = value'" in (r.stderr + r.stdout), r
    print("ok")


if __name__ == "__main__":
    main()
