"""What one pathological post costs `publish check`: wall time and peak memory, beside a normal post.

    python bench/hostile_posts.py

Each post is checked by a fresh `publish check` process (cache off), so the figures are
the whole command's, and peak memory is that process's own.  Prints a table; exits 0
whatever the figures.  The bounds in scheduler/checks.py (body length, nesting depth,
unclosed brackets, a render time limit) are what keep these rows small.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FRONT = "---\ntitle: 测试\nstatus: ready\n---\n"


def _deep_list(levels: int, size: int) -> str:
    lines, total, i = [], 0, 0
    while total < size:
        line = "  " * min(i, levels) + "- 项\n"
        lines.append(line)
        total += len(line.encode())
        i += 1
    return "".join(lines)


POSTS = {
    "normal post (3,000 characters)": ("医保基金是人民群众的看病钱救命钱。" * 10 + "\n\n") * 18,
    "list nested 500 levels, 1 MB": _deep_list(500, 1_000_000 - len(FRONT)),
    "list nested 300 levels, 30 KB": _deep_list(300, 30_000),
    "20,000 unclosed '['": "[" * 20_000,
    "5,000 '[a](' in one paragraph": "[a](" * 5_000,
    "quote nested 20,000 levels": ">" * 20_000 + " 引用",
    "49,000 characters of text": "医" * 49_000,
    "25,000 emphasised words": "*a* " * 12_000,
}


WRAPPER = """
import resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(done.stdout, end="")
print(f"{time.perf_counter() - start:.3f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
"""


def measure(body: str, scratch: Path) -> tuple[float, float, str]:
    site = scratch / "site"
    (site / "content" / "news").mkdir(parents=True, exist_ok=True)
    (site / "config.toml").write_text('[account]\nname = "测试"\n[content]\ngit = false\n', encoding="utf-8")
    (site / "content" / "news" / "post.md").write_text(FRONT + body, encoding="utf-8")
    env = dict(os.environ, TUIWEN_CACHE="off")
    # A wrapper per measurement: its children's peak memory is then this one command's alone.
    command = [sys.executable, "-m", "scheduler.cli", "--config", str(site / "config.toml"), "check"]
    done = subprocess.run([sys.executable, "-c", WRAPPER, *command], capture_output=True, text=True, env=env, cwd=ROOT,
                          check=False)
    *output, figures = done.stdout.rstrip("\n").split("\n")
    seconds, peak_kb = figures.split()
    errors = [line.split(": ", 2)[2][:48] for line in output if ": 错误: " in line]
    return float(seconds), int(peak_kb) / 1024, errors[0] if errors else "no error"


def main() -> None:
    print(f"{'post':34} {'seconds':>8} {'peak MB':>8}  verdict")
    for name, body in POSTS.items():
        with tempfile.TemporaryDirectory() as tmp:
            seconds, peak, verdict = measure(body, Path(tmp))
        print(f"{name:34} {seconds:8.2f} {peak:8.0f}  {verdict}")


if __name__ == "__main__":
    main()
