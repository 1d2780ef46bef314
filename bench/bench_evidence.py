"""Evidence store throughput; one JSON line on stdout (and in bench/out/).

    python bench/bench_evidence.py [--mb 500] [--chunks]

A file of `--mb` MB (pseudo-random, generated in /tmp) is hashed by `sha256sum`, stored by
`jikimi.core.filestore.put()` and checked by `verify()` in the same run; the line gives
MB/s of each, the ratios put/sha256sum and verify/sha256sum (target ≥ 0.5), Python's own
hashlib SHA-256 alone for reference, and the peak RSS of this process (the file never is
in memory). `--chunks` also times put() and verify() with chunk sizes from 16 KiB to 1 MiB.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT / "src"))


def emit(result: dict) -> None:
    line = json.dumps(result, ensure_ascii=False)
    print(line, flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "bench_evidence.jsonl", "a") as fh:
        fh.write(line + "\n")


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def make_file(path: Path, mb: int) -> None:
    """Incompressible bytes, 1 MiB at a time (a random block, its head varied per MiB)."""
    block = os.urandom(1 << 20)
    with open(path, "wb") as fh:
        for i in range(mb):
            fh.write(bytes(b ^ i % 256 for b in block[:64]) + block[64:])


def timed[T](fn: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=500)
    parser.add_argument("--chunks", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-evidence-", dir="/tmp") as tmp:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jikimi.settings")
        os.environ["JIKIMI_HOME"] = str(Path(tmp) / "home")
        from jikimi.core.keyring import KeyRing

        os.environ["JIKIMI_KEYS"] = KeyRing.generate().to_json()
        from jikimi.core import filestore

        source = Path(tmp) / "video.bin"
        make_file(source, args.mb)
        size_mb = source.stat().st_size / 2**20
        rss_before = peak_rss_mb()

        # sha256sum first reads the file into the page cache, so every reader below finds it
        # there: the comparison is of computation, not of the disk.
        subprocess.run(["sha256sum", str(source)], check=True, capture_output=True)
        t_sum, run = timed(
            lambda: subprocess.run(
                ["sha256sum", str(source)], check=True, capture_output=True, text=True
            )
        )
        expected = run.stdout.split()[0]

        def hashlib_alone() -> str:
            hasher = hashlib.sha256()
            with open(source, "rb") as fh:
                while piece := fh.read(1 << 20):
                    hasher.update(piece)
            return hasher.hexdigest()

        t_hashlib, digest = timed(hashlib_alone)
        assert digest == expected

        def put():
            with open(source, "rb", buffering=0) as fh:
                return filestore.put(fh)

        t_put, stored = timed(put)
        assert stored.sha256 == expected
        t_verify, result = timed(lambda: filestore.verify(stored))
        assert result.ok, result
        t_open, opened = timed(lambda: sum(len(p) for p in filestore.open(stored)))
        assert opened == source.stat().st_size

        chunk_sizes = {}
        if args.chunks:
            default = filestore.CHUNK_LOG2
            for log2 in range(14, 21):
                filestore.CHUNK_LOG2 = log2
                t, s = timed(put)
                t_v, _ = timed(functools.partial(filestore.verify, s))
                chunk_sizes[f"{1 << (log2 - 10)}KiB"] = {
                    "put": round(size_mb / t, 1),
                    "verify": round(size_mb / t_v, 1),
                }
                filestore.delete(s)
            filestore.CHUNK_LOG2 = default

        emit(
            {
                "bench": "evidence",
                "mb": round(size_mb),
                "chunk_kib": 1 << (filestore.CHUNK_LOG2 - 10),
                "sha256sum_mb_s": round(size_mb / t_sum, 1),
                "hashlib_sha256_mb_s": round(size_mb / t_hashlib, 1),
                "put_mb_s": round(size_mb / t_put, 1),
                "verify_mb_s": round(size_mb / t_verify, 1),
                "open_mb_s": round(size_mb / t_open, 1),
                "put_vs_sha256sum": round(t_sum / t_put, 2),
                "verify_vs_sha256sum": round(t_sum / t_verify, 2),
                "target_ratio": 0.5,
                "mb_s_by_chunk": chunk_sizes or None,
                "peak_rss_mb": peak_rss_mb(),
                "rss_growth_mb": round(peak_rss_mb() - rss_before, 1),
            }
        )


if __name__ == "__main__":
    main()
