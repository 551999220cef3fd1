"""Every performance figure of tuiwen, each beside a baseline measured in the same run.

    python bench/run.py [--quick] [--scratch DIR] [--no-competitors] [--keep] [--only dry-run,check,memory]

Machines are noisy, so each figure is read against something timed a moment
before on the same machine: reading every file, a bare interpreter, importing
SQLAlchemy, and two other WeChat Markdown renderers — wechat-md 0.5.0 (PyPI,
installed into a virtual environment) and @wenyan-md/core 3.0.10 (npm, with its
peers) — installed once into the scratch folder (default ~/.cache/tuiwen-bench).
Repeated timings report the best of several runs.  Exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import daemon_idle, release_calls  # noqa: E402
from bench.make_corpus import make_corpus  # noqa: E402

DRY_RUN_AT = "2025-04-01 09:00"
WECHAT_MD = "wechat-md==0.5.0"
WENYAN = ["@wenyan-md/core@3.0.10", "jsdom@^27.4.0", "formdata-node@^6.0.3", "form-data-encoder@^4.1.0"]
READ_ALL = """\
import os, sys
for folder, _, names in os.walk(sys.argv[1]):
    for name in names:
        if name.endswith(".md"):
            with open(os.path.join(folder, name), "rb") as file:
                file.read()
"""


@dataclass
class Row:
    name: str
    value: str
    baseline: str
    ratio: str
    target: str
    ok: bool | None  # None: for information


# --- running things -------------------------------------------------------------

def publish() -> list[str]:
    script = Path(sys.executable).with_name("publish")
    return [str(script)] if script.exists() else [sys.executable, "-m", "scheduler.cli"]


CPU: dict[float, float] = {}  # wall seconds of a run → the CPU seconds it used (what a busy machine does not inflate)


def wall(cmd: list[str], env: dict, *, cwd: Path = ROOT, ok_codes: tuple[int, ...] = (0,)) -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, check=False)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU[seconds] = after.ru_utime - used.ru_utime + after.ru_stime - used.ru_stime
    if done.returncode not in ok_codes:
        raise RuntimeError(f"{' '.join(cmd[:4])}… exited {done.returncode}: {done.stderr.decode()[-600:]}")
    return seconds


def best(cmd: list[str], env: dict, runs: int, **kwargs) -> float:
    return min(wall(cmd, env, **kwargs) for _ in range(runs))


def bench_env(work: Path) -> dict:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # time what a deployed install runs: compiled modules
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    env["TUIWEN_CACHE_DIR"] = str(work / "cache")
    env.pop("TUIWEN_CACHE", None)
    return env


def fmt(seconds: float) -> str:
    return f"{seconds:.3f} s"


# --- the measurements -----------------------------------------------------------------

def fill_ledger(config_path: Path, before: str) -> int:
    """Record every post dated before ``before`` as published, 8 to a weekly release: years of history."""
    from datetime import timedelta

    from scheduler import ledger as L
    from scheduler.config import load_config
    from scheduler.ledger import ItemPlan, Ledger
    from scheduler.posts import load_posts, parse_when

    config = load_config(config_path)
    limit = parse_when(before, config.account.tz)
    old = sorted((p for p in load_posts(config) if p.publish_after and p.publish_after < limit),
                 key=lambda p: p.publish_after)
    ledger = Ledger(config.database.url)
    ledger.adopt(config.account.key, config.account.name)
    slot = parse_when("2019-01-01 09:00", config.account.tz)
    for start in range(0, len(old), 8):
        items = [ItemPlan(i, p.rel, p.sha256, p.title, p.category) for i, p in enumerate(old[start:start + 8], 1)]
        release = ledger.claim(config.account.key, slot, "mass_send", items)
        ledger.advance(release.id, L.CONFIRMED, "基准测试：历史记录")
        slot += timedelta(days=3.5)
    ledger.close()
    return len(old)


def dry_run_rows(config: Path, env: dict, runs: int, n: int) -> list[Row]:
    content = config.parent / "content"
    cmd = [*publish(), "--config", str(config), "--dry-run", "--at", DRY_RUN_AT, "--out", str(config.parent / "preview")]
    baseline = best([sys.executable, "-c", READ_ALL, str(content)], env, runs)
    colds = []
    for _ in range(2):  # best of two: a busy moment should not decide it
        shutil.rmtree(env["TUIWEN_CACHE_DIR"], ignore_errors=True)
        colds.append(wall(cmd, env))
    cold = min(colds)
    warm = best(cmd, env, runs)
    return [
        Row(f"dry-run, {n} posts, cold (no cache, new process)", with_cpu(cold), f"read all {with_cpu(baseline)}",
            f"{cold / baseline:.1f}x", "<= 1 s, <= 10x", cold <= 1.0 and cold <= 10 * baseline),
        Row(f"dry-run, {n} posts, warm", with_cpu(warm), f"read all {with_cpu(baseline)}", f"{warm / baseline:.1f}x",
            "<= 4x", warm <= 4 * baseline),
    ]


def with_cpu(seconds: float) -> str:
    return f"{fmt(seconds)} (CPU {CPU[seconds]:.2f} s)" if seconds in CPU else fmt(seconds)


def check_rows(config: Path, env: dict, runs: int, n: int, competitors: dict[str, float | None]) -> list[Row]:
    def cold(jobs: int) -> float:
        times = []
        for _ in range(2):  # best of two, as for wechat-md
            shutil.rmtree(env["TUIWEN_CACHE_DIR"], ignore_errors=True)
            # the corpus has posts with errors, as real ones do: exit 1
            times.append(wall([*publish(), "--config", str(config), "check", "--jobs", str(jobs)], env, ok_codes=(0, 1)))
        return min(times)

    single, double = n / cold(1), n / cold(2)
    warm = best([*publish(), "--config", str(config), "check"], env, runs, ok_codes=(0, 1))
    rows = []
    for label, rate, name, factor in (("1 process", single, "wechat-md", 1.0), ("2 processes", double, "wechat-md", 1.8),
                                      ("1 process", single, "wenyan", None), ("2 processes", double, "wenyan", 10.0)):
        other = competitors.get(name)
        rows.append(Row(f"check, {n} posts, cold, {label}", f"{rate:.0f} posts/s",
                        f"{name} {other:.0f} posts/s" if other else f"{name} n/a",
                        f"{rate / other:.2f}x" if other else "-", f">= {factor}x" if factor else "(info)",
                        (rate >= factor * other if other else None) if factor else None))
    rows.append(Row(f"check, {n} posts, warm", fmt(warm), f"cold, 2 processes {fmt(n / double)}",
                    f"{warm * double / n:.2f}x", "<= 1 s", warm <= 1.0))
    return rows


PEAK = """import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def memory_rows(config: Path, env: dict, n: int) -> list[Row]:
    """Peak resident memory of a cold ``publish check`` over the big corpus (the largest process)."""
    bare = _peak([sys.executable, "-c", "pass"], env)
    rows = []
    for jobs in (1, 2):
        shutil.rmtree(env["TUIWEN_CACHE_DIR"], ignore_errors=True)
        peak = _peak([*publish(), "--config", str(config), "check", "--jobs", str(jobs)], env)
        rows.append(Row(f"check, {n} posts, cold, {jobs} process{'es' if jobs > 1 else ''}: peak memory"
                        + (" (largest process)" if jobs > 1 else ""),
                        f"{peak:.0f} MB", f"bare python {bare:.1f} MB", f"{peak / bare:.1f}x", "<= 250 MB", peak <= 250))
    return rows


def _peak(cmd: list[str], env: dict) -> float:
    done = subprocess.run([sys.executable, "-c", PEAK, *cmd], env=env, capture_output=True, text=True, check=True)
    code, kilobytes = done.stdout.split()
    if code not in ("0", "1"):
        raise RuntimeError(f"{' '.join(cmd[:4])}… exited {code}: {done.stderr[-600:]}")
    return int(kilobytes) / 1024


def competitor_rates(content: Path, scratch: Path, env: dict) -> tuple[dict[str, float | None], list[str]]:
    """posts/s of wechat-md and wenyan rendering every post of ``content`` once (process wall time)."""
    rates: dict[str, float | None] = {}
    notes = []
    for name, setup, command, runs in (
            ("wechat-md", _wechat_md, lambda t: [str(t), str(ROOT / "bench/drivers/wechat_md_render.py")], 2),
            ("wenyan", _wenyan, lambda t: ["node", str(t / "wenyan_render.mjs")], 1)):  # ~30 s a run
        try:
            tool = setup(scratch)
            seconds = float("inf")
            for _ in range(runs):
                start = time.perf_counter()
                out = subprocess.run([*command(tool), str(content)], cwd=tool if tool.is_dir() else None, env=env,
                                     capture_output=True, text=True, check=True)
                seconds = min(seconds, time.perf_counter() - start)
            posts = json.loads(out.stdout.splitlines()[-1])["posts"]
            rates[name] = posts / seconds
            notes.append(f"{name}: {posts} posts in {seconds:.2f} s")
        except (OSError, subprocess.CalledProcessError, ValueError, KeyError) as exc:
            rates[name] = None
            detail = exc.stderr[-300:] if isinstance(exc, subprocess.CalledProcessError) else exc
            notes.append(f"{name}: unavailable ({detail})")
    return rates, notes


def _wechat_md(scratch: Path) -> Path:
    venv = scratch / "wechat-md-0.5.0"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", WECHAT_MD], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return python


def _wenyan(scratch: Path) -> Path:
    folder = scratch / "wenyan-3.0.10"
    if not (folder / "node_modules" / "@wenyan-md" / "core").exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_text('{"name": "wenyan-bench", "private": true, "type": "module"}\n')
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *WENYAN], cwd=folder,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    shutil.copyfile(ROOT / "bench/drivers/wenyan_render.mjs", folder / "wenyan_render.mjs")
    return folder


def startup_rows(config: Path, env: dict, runs: int) -> list[Row]:
    bare = best([sys.executable, "-c", "pass"], env, runs)
    orm = best([sys.executable, "-c", "import sqlalchemy.orm"], env, runs)
    help_ = best([*publish(), "--help"], env, runs)
    status = best([*publish(), "--config", str(config), "status"], env, runs)
    return [
        Row("publish --help", fmt(help_), f"python -c pass {fmt(bare)}", f"{help_ / bare:.1f}x", "<= 0.3 s",
            help_ <= 0.3),
        Row("publish status", fmt(status), f"import sqlalchemy.orm {fmt(orm)}", f"{status / orm:.1f}x", "<= 0.3 s",
            status <= 0.3),
    ]


def release_rows() -> tuple[list[Row], list[str]]:
    results = release_calls.run()
    rows, lines = [], []
    for number, result in results.items():
        total, minimum = result["total"], sum(result["minimum"].values())
        rows.append(Row(f"release {number}: {result['articles']} articles, {result['images']} images, API calls",
                        str(total), f"minimum {minimum}", f"{total / minimum:.2f}x", "= minimum",
                        total == minimum and result["status"] == "confirmed"))
        counts = ", ".join(f"{e} {n}" for e, n in result["counts"].items() if n or result["minimum"][e])
        lines.append(f"release {number} ({result['status']}): {counts}; other {result['other'] or 'none'}; "
                     f"status polls waited {result['waits']} s")
    return rows, lines


def daemon_rows(env: dict, seconds: float) -> tuple[list[Row], list[str]]:
    result = daemon_idle.run(seconds, env=env)
    hours = result["simulated"].total_seconds() / 3600
    rows = [
        Row("daemon idle, RSS (max)", f"{result['rss_max']:.1f} MB", f"bare python {result['baseline_rss']:.1f} MB",
            f"{result['rss_max'] / result['baseline_rss']:.1f}x", "<= 80 MB", result["rss_max"] <= 80),
        Row(f"daemon idle, CPU over {result['seconds']:.0f} s", f"{result['cpu_percent']:.2f} %",
            "one core 100 %", f"{result['cpu_percent'] / 100:.4f}x", "~0 % (< 1 %)", result["cpu_percent"] < 1),
    ]
    lines = [f"daemon: {result['reconciles']} reconciles, one a second (= {hours:.1f} h of 5-minute reconciles); "
             f"RSS {result['rss_first']:.1f} → {result['rss_last']:.1f} MB; exit {result['exit']}; "
             f"errors {result['errors'] or 'none'}"]
    return rows, lines


# --- output ------------------------------------------------------------------------------

def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, {platform.system()} {platform.release()}"


def table(rows: list[Row]) -> str:
    head = Row("measure", "tuiwen", "baseline (same run)", "ratio", "target", None)
    cells = [[r.name, r.value, r.baseline, r.ratio, r.target,
              "" if r is head else ("ok" if r.ok else "MISSED" if r.ok is False else "-")] for r in [head, *rows]]
    cells[0][5] = "met"
    widths = [max(len(c[i]) for c in cells) for i in range(6)]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(6)).rstrip() for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller corpora and a shorter daemon run")
    parser.add_argument("--scratch", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                        / "tuiwen-bench", help="where wechat-md and wenyan are installed (kept between runs)")
    parser.add_argument("--no-competitors", action="store_true", help="skip wechat-md and wenyan")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (corpora, ledger, cache)")
    parser.add_argument("--only", default="", help="comma-separated parts to run: dry-run, check, memory, "
                        "startup, release, daemon (default: all)")
    args = parser.parse_args()
    parts = set(filter(None, args.only.split(","))) or {"dry-run", "check", "memory", "startup", "release", "daemon"}
    dry_n, check_n, daemon_s, runs = (1000, 300, 15, 3) if args.quick else (5000, 1000, 60, 5)

    work = Path(tempfile.mkdtemp(prefix="tuiwen-bench-"))
    env = bench_env(work)
    started = time.time()
    try:
        print(f"tuiwen bench{' (quick)' if args.quick else ''}: {machine()}", flush=True)
        big = make_corpus(dry_n, work / "dry-run")
        small = make_corpus(check_n, work / "check")
        published = fill_ledger(big, "2025-01-01")
        print(f"corpora: {dry_n} posts ({published} already published in the ledger), {check_n} posts; "
              f"work folder {work}", flush=True)
        for cmd in ([*publish(), "--help"], [*publish(), "--config", str(big), "status"]):
            wall(cmd, env)  # compile the modules once, as an installed package has them
        time.sleep(max(0.0, 2.5 - (time.time() - started)))  # files this fresh are never cached (racy)

        rows: list[Row] = []
        notes: list[str] = [f"load average at the start {statistics.mean(os.getloadavg()):.2f}"]
        if "dry-run" in parts:
            rows += dry_run_rows(big, env, runs, dry_n)
            print("dry-run done", flush=True)
        competitors: dict[str, float | None] = {}
        if "check" in parts:
            if not args.no_competitors:
                args.scratch.mkdir(parents=True, exist_ok=True)
                competitors, lines = competitor_rates(small.parent / "content", args.scratch, env)
                notes += lines
            rows += check_rows(small, env, max(3, runs - 2), check_n, competitors)
            print("check done", flush=True)
        if "memory" in parts:
            rows += memory_rows(big, env, dry_n)
            print("memory done", flush=True)
        if "startup" in parts:
            rows += startup_rows(big, env, runs + 2)
        if "release" in parts:
            more, lines = release_rows()
            rows += more
            notes += lines
            print("releases done", flush=True)
        if "daemon" in parts:
            print("the daemon idles now", flush=True)
            more, lines = daemon_rows(env, daemon_s)
            rows += more
            notes += lines
        print()
        print(table(rows))
        print()
        for note in notes:
            print(note)
        met = [r.ok for r in rows if r.ok is not None]
        print(f"\n{sum(met)} of {len(met)} targets met; {time.time() - started:.0f} s in all; "
              f"load average now {statistics.mean(os.getloadavg()):.2f}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
