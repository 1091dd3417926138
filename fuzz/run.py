"""Run fuzz targets under atheris (libFuzzer, coverage-guided) and print a table.

    python -m fuzz.run --time 300                 # every target, 5 min each, one after the other
    python -m fuzz.run --time 60 v1_stream polar  # some targets
    python -m fuzz.run --time 30 --jobs 2         # two targets at a time

Each target runs in its own process (``--worker``) on its committed seeds (``fuzz/corpus/<target>``, read-only)
plus a working corpus (``fuzz/.work/<target>/corpus``, kept between runs, not committed). libFuzzer limits:
``-timeout`` seconds per input (a hang is a finding), ``-rss_limit_mb`` (unbounded memory is a finding). A crash
is written to ``fuzz/.work/<target>/crash-*`` and the target is restarted for the rest of its time (at most
``--max-crashes`` times). Columns: execs (inputs run), cov (libFuzzer coverage counters hit), corpus (working
corpus entries), crashes (distinct exception sites). Minimise a find with
``python -m fuzz.run --worker TARGET --minimize CRASH_FILE``. Needs the ``fuzz`` extra (atheris).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CORPUS = ROOT / "corpus"
WORK = ROOT / ".work"

_STATUS = re.compile(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/")
_EXECS = re.compile(r"stat::number_of_executed_units: (\d+)")
_SITE = re.compile(r'File "([^"]+)", line (\d+)')


@dataclass
class Result:
    target: str
    seconds: float = 0.0
    execs: int = 0
    cov: int = 0
    features: int = 0
    corpus: int = 0
    crashes: list[str] = field(default_factory=list)
    log: str = ""


def _worker(name: str, seconds: int, timeout_s: int, rss_mb: int, extra: list[str]) -> None:
    import logging

    import atheris

    logging.disable(logging.CRITICAL)  # the link decoder logs every skipped frame: millions of lines
    # the targets import every parser they drive; importing them here instruments those modules for coverage
    with atheris.instrument_imports(include=["sensor", "firmware_proto"]):
        from fuzz.targets import TARGETS, check

    target = TARGETS[name]
    work = WORK / name / "corpus"
    work.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.argv[0],
        f"-timeout={timeout_s}",
        f"-rss_limit_mb={rss_mb}",
        "-print_final_stats=1",
        f"-artifact_prefix={WORK / name}/",
        *extra,
    ]
    if not any(a.startswith("-minimize_crash") for a in extra):
        argv += [f"-max_total_time={seconds}", str(work), str(CORPUS / name)]

    def one_input(data: bytes) -> None:
        try:
            check(target, data)
        except BaseException:
            # libFuzzer does not always write the artifact of a Python exception (no sanitizer death callback
            # in the wheel): keep the input ourselves
            (WORK / name / f"crash-{hashlib.sha1(data).hexdigest()}").write_bytes(data)
            raise

    atheris.Setup(argv, one_input)
    atheris.Fuzz()


def _run_one(name: str, seconds: int, timeout_s: int, rss_mb: int, max_crashes: int) -> Result:
    res = Result(name)
    start = time.monotonic()
    sites: set[str] = set()
    while True:
        left = seconds - (time.monotonic() - start)
        if left < 1:
            break
        cmd = [sys.executable, "-m", "fuzz.run", "--worker", name, "--time", str(int(left))]
        cmd += ["--timeout", str(timeout_s), "--rss-mb", str(rss_mb)]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT.parent, check=False)
        log = proc.stdout + proc.stderr
        res.log += log
        last_status = 0
        for line in log.splitlines():
            m = _STATUS.match(line)
            if m:
                last_status = int(m[1])
                res.cov, res.features, res.corpus = int(m[2]), int(m[3]), int(m[4])
        m = _EXECS.search(log)
        # a crashed run prints no final stats: its last status line is the best count there is
        res.execs += int(m[1]) if m else last_status
        if proc.returncode == 0:
            break
        # the deepest frame of the traceback inside the project names the crash site
        frames = [f"{Path(f).name}:{ln}" for f, ln in _SITE.findall(log) if "/sensor/" in f or "/fuzz/" in f]
        kind = "timeout" if "ERROR: libFuzzer: timeout" in log else "oom" if "out-of-memory" in log else ""
        exc = re.findall(r"^(\w+(?:Error|Exception)\b.*)$", log, re.M)
        site = kind or (frames[-1] if frames else "?") + (f" {exc[-1][:80]}" if exc else "")
        if site not in sites:
            sites.add(site)
            res.crashes.append(site)
        if len(res.crashes) >= max_crashes:
            break
    res.seconds = time.monotonic() - start
    res.corpus = len(list((WORK / name / "corpus").iterdir())) if (WORK / name / "corpus").exists() else res.corpus
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("targets", nargs="*", help="target names (default: all)")
    p.add_argument("--time", type=int, default=60, help="seconds per target (default 60)")
    p.add_argument("--jobs", type=int, default=1, help="targets run at the same time (default 1)")
    p.add_argument("--timeout", type=int, default=10, help="seconds one input may take (default 10)")
    p.add_argument("--rss-mb", type=int, default=1536, help="memory limit of a worker in MB (default 1536)")
    p.add_argument("--max-crashes", type=int, default=5, help="stop a target after this many distinct crashes")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--minimize", metavar="CRASH_FILE", help="with --worker: minimise this crash input")
    args = p.parse_args(argv)
    if args.worker:
        extra = []
        if args.minimize:
            extra = ["-minimize_crash=1", f"-max_total_time={args.time}", args.minimize]
        _worker(args.worker, args.time, args.timeout, args.rss_mb, extra)
        return 0
    from fuzz.targets import TARGETS

    names = args.targets or list(TARGETS)
    unknown = sorted(set(names) - set(TARGETS))
    if unknown:
        p.error(f"unknown targets {unknown}; choose from {sorted(TARGETS)}")
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda n: _run_one(n, args.time, args.timeout, args.rss_mb, args.max_crashes), names))
    print(f"{'target':<16} {'seconds':>7} {'execs':>9} {'exec/s':>7} {'cov':>6} {'corpus':>6} {'crashes':>7}")
    for r in results:
        rate = r.execs / r.seconds if r.seconds else 0.0
        print(f"{r.target:<16} {r.seconds:7.0f} {r.execs:9d} {rate:7.0f} {r.cov:6d} {r.corpus:6d} {len(r.crashes):7d}")
    for r in results:
        for c in r.crashes:
            print(f"  {r.target}: {c}")
    for r in results:
        (WORK / r.target).mkdir(parents=True, exist_ok=True)
        (WORK / r.target / "last.log").write_text(r.log)
    return 1 if any(r.crashes for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
