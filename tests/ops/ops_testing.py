"""Helpers shared by the tests of the generated operations kit (tests/ops)."""
import os
import subprocess

SOURCE_DIR = os.environ.get("NSMD_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
NSMD = os.environ.get("NSMD_BINARY", os.path.join(SOURCE_DIR, "build", "nsmd"))
EXAMPLES = sorted(
    os.path.splitext(f)[0] for f in os.listdir(os.path.join(SOURCE_DIR, "config", "examples"))
    if f.endswith(".yaml"))


def source(*parts):
    return os.path.join(SOURCE_DIR, *parts)


def nsmd(*args):
    """Runs nsmd with `args` in the source dir (so the config paths the
    generated files name are relative, as in the committed ones); returns its
    stdout, failing on a non-zero exit."""
    p = subprocess.run([NSMD, *args], capture_output=True, text=True, check=False,
                       cwd=SOURCE_DIR)
    if p.returncode != 0:
        raise AssertionError(f"nsmd {' '.join(args)} exited {p.returncode}: {p.stderr}")
    return p.stdout


def run(*args):
    """Runs a tool; returns (exit code, stdout + stderr)."""
    p = subprocess.run(list(args), capture_output=True, text=True, check=False)
    return p.returncode, p.stdout + p.stderr
