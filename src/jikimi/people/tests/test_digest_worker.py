"""The digest child (`people.digests.DigestWorker`) ends with its parent, however the parent
ends: a parent killed outright must not leave a process behind that holds the blind-index
key (seen: a killed benchmark's child still waiting 40 minutes later)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

# The parent: starts a worker, has it answer one batch (so the child is up), prints the
# child's pid, then waits to be killed.
PARENT = textwrap.dedent(
    """
    import time
    from jikimi.core.crypto import BlindIndexer
    from jikimi.people import digests

    if __name__ == "__main__":
        worker = digests.DigestWorker(b"k" * 32, BlindIndexer(b"k" * 32))
        future = worker.submit([("name", "Kim Chol")])
        assert worker.result(future, [("name", "Kim Chol")])
        assert worker.answered == 1, "the child did not answer"
        print(*worker._pool._processes, flush=True)
        time.sleep(600)
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone as far as its work goes (its parent, killed, cannot reap it).
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_the_child_ends_when_its_parent_is_killed(tmp_path, how):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    src = str(Path(__file__).resolve().parents[3])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, env=env)
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline().decode()
        (child,) = (int(pid) for pid in line.split())
        assert _alive(child)
        parent.send_signal(how)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child), "the digest child outlived its parent"
    finally:
        parent.kill()
        parent.wait()
