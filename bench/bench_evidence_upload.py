"""Evidence through the whole web stack: a `--mb` MB multipart upload to the evidence API and
its download, in one process, through Django's WSGI handler; one JSON line on stdout (and in
bench/out/).

    python bench/bench_evidence_upload.py [--mb 500]

The request body is a file on disk (wsgi.input), as a server hands it over; Django's upload
handlers spill the file part to a temporary file (FILE_UPLOAD_MAX_MEMORY_SIZE) and
`filestore.put` encrypts it in chunks, so the peak RSS grows by a few MB, not by the size of
the file. The line gives MB/s of upload and download and the peak RSS before and after.
A fresh JIKIMI_HOME (SQLite) in /tmp, migrated, with one synthetic event.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT / "src"))

BOUNDARY = "jikimibenchboundary7d1e"
PASSWORD = "correct horse battery staple"  # noqa: S105 - a synthetic bench account


def emit(result: dict) -> None:
    line = json.dumps(result, ensure_ascii=False)
    print(line, flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "bench_evidence_upload.jsonl", "a") as fh:
        fh.write(line + "\n")


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def make_body(path: Path, mb: int) -> tuple[int, str]:
    """A multipart/form-data body with one file part of `mb` MiB; its length and the SHA-256
    of the file part."""
    block = os.urandom(1 << 20)
    digest = hashlib.sha256()
    with open(path, "wb") as fh:
        fh.write(
            (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="description"\r\n\r\n'
                f'bench\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="video.mp4"\r\nContent-Type: video/mp4\r\n\r\n'
            ).encode()
        )
        for i in range(mb):
            piece = i.to_bytes(4, "big") + block[4:]
            digest.update(piece)
            fh.write(piece)
        fh.write(f"\r\n--{BOUNDARY}--\r\n".encode())
    return path.stat().st_size, digest.hexdigest()


def environ(method: str, path: str, token: str, body, length: int, content_type: str) -> dict:
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "443",
        "HTTP_HOST": "localhost",
        "HTTP_AUTHORIZATION": f"Token {token}",
        "HTTP_ACCEPT_LANGUAGE": "en",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(length),
        "wsgi.input": body,
        "wsgi.url_scheme": "https",
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def round_trip(app, base: str, token: str, body_path: Path, length: int) -> tuple[dict, dict]:
    """Upload the body, download the file back; timings, and the upload's answer."""
    statuses: list[str] = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    with open(body_path, "rb") as body:
        env = environ(
            "POST", base, token, body, length, f"multipart/form-data; boundary={BOUNDARY}"
        )
        start = time.perf_counter()
        answer = b"".join(app(env, start_response))
        upload_s = time.perf_counter() - start
    assert statuses[-1].startswith("201"), (statuses, answer[:500])
    made = json.loads(answer)
    rss_upload = peak_rss_mb()
    request = json.dumps({"reason": "bench", "password": PASSWORD}).encode()
    env = environ(
        "POST",
        f"{base}{made['id']}/download/",
        token,
        io.BytesIO(request),
        len(request),
        "application/json",
    )
    start = time.perf_counter()
    digest, size = hashlib.sha256(), 0
    response = app(env, start_response)
    for piece in response:
        digest.update(piece)
        size += len(piece)
    response.close()
    download_s = time.perf_counter() - start
    assert statuses[-1].startswith("200") and size == made["size"], statuses
    assert digest.hexdigest() == made["sha256"]
    times = {"upload_s": upload_s, "download_s": download_s, "rss_upload": rss_upload}
    return made, times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=500)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="jikimi-bench-upload-"))
    (work / "home").mkdir(mode=0o700)
    os.environ["JIKIMI_HOME"] = str(work / "home")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jikimi.settings")
    os.environ.pop("DATABASE_URL", None)
    from jikimi.core.keyring import KeyRing

    os.environ["JIKIMI_KEYS"] = KeyRing.generate().to_json()
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from jikimi.accounts.services import create_staff, ensure_organisation, issue_api_token
    from jikimi.incidents import services as incidents
    from jikimi.people.services import create_person

    org = ensure_organisation("bench", "Bench Organisation")
    worker, _ = create_staff("bench-worker", PASSWORD, org, "caseworker")
    victim = create_person(worker, name="Synthetic Person", birth_year=1990, sex="F")
    event = incidents.record_event(
        worker,
        title="Synthetic event",
        date="2018-06",
        place="Tumen",
        acts=[{"act_type": "arrest", "victim": victim.code}],
    )
    token = issue_api_token(worker)[1]
    body_path = work / "body"
    length, sha256 = make_body(body_path, args.mb)
    app = WSGIHandler()
    base = f"/api/incidents/events/{event.code}/evidence/"
    # A 1 MiB round trip first: the first request imports and compiles what every later one
    # uses (DRF, templates, the schema); the peak RSS after it is the baseline.
    small_path = work / "small"
    small_length, _small_sha = make_body(small_path, 1)
    round_trip(app, base, token, small_path, small_length)
    rss_before = peak_rss_mb()
    made, times = round_trip(app, base, token, body_path, length)
    assert made["sha256"] == sha256 and made["size"] == args.mb << 20
    upload_s, download_s = times["upload_s"], times["download_s"]
    rss_upload = times["rss_upload"]

    mb = args.mb * 1.048576  # MiB in MB
    emit(
        {
            "bench": "evidence_upload",
            "mb": args.mb,
            "upload_s": round(upload_s, 2),
            "upload_mb_s": round(mb / upload_s, 1),
            "download_s": round(download_s, 2),  # verify first, then stream (two passes)
            "download_mb_s": round(mb / download_s, 1),
            "peak_rss_mb_before": rss_before,  # after a 1 MiB round trip
            "peak_rss_mb_after_upload": rss_upload,
            "peak_rss_mb_after_download": peak_rss_mb(),
        }
    )
    import shutil

    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
