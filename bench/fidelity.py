"""Side by side: the share of editor patterns each renderer shows as the editor meant.

    python bench/fidelity.py [--failures]

Every case of tests/editor_patterns.yaml is rendered by tuiwen, markdown-it-py
(CommonMark with tables, PyPI ``markdown-it-py``: ``pip install -e '.[bench]'``) and
marked (GFM, behind doocs/md and Wenyan; npm ``marked``, installed on first use into
bench/node with ``npm install --prefix``), read back into blocks by the same reader
(tests/html_blocks.py) and compared with the blocks the case expects.  A renderer
that is not installed is skipped with a note.  Prints the share each meets, and with
``--failures`` the cases each one misses.  Exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.html_blocks import blocks, load_corpus, tuiwen_body  # noqa: E402

NODE_DIR = Path(__file__).resolve().parent / "node"
_MARKED = """
const marked = require(process.argv[1]);
let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const out = JSON.parse(input).map((source) => marked.parse(source));
  process.stdout.write(JSON.stringify(out));
});
"""


def tuiwen(sources: list[str]) -> list[str]:
    return [tuiwen_body(source)[0] for source in sources]


def markdown_it(sources: list[str]) -> list[str] | str:
    try:
        from markdown_it import MarkdownIt
    except ImportError:
        return "markdown-it-py 未安装：pip install -e '.[bench]'"
    md = MarkdownIt("commonmark").enable("table")
    return [md.render(source) for source in sources]


def marked(sources: list[str]) -> list[str] | str:
    node = shutil.which("node")
    if node is None:
        return "没有 node，跳过 marked"
    module = NODE_DIR / "node_modules" / "marked"
    if not module.exists():
        npm = shutil.which("npm")
        if npm is None:
            return "没有 npm，无法安装 marked，跳过"
        done = subprocess.run([npm, "install", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund", "marked"],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0 or not module.exists():
            return f"marked 安装失败，跳过：{done.stderr.strip()[-200:]}"
    done = subprocess.run([node, "-e", _MARKED, str(module)], input=json.dumps(sources),
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return f"marked 运行失败，跳过：{done.stderr.strip()[-200:]}"
    return json.loads(done.stdout)


def version(name: str) -> str:
    if name == "marked":
        lock = NODE_DIR / "node_modules" / "marked" / "package.json"
        return json.loads(lock.read_text())["version"] if lock.exists() else "?"
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed({"tuiwen": "tuiwen", "markdown-it-py": "markdown-it-py"}[name])
    except PackageNotFoundError:
        return "?"


RENDERERS: dict[str, Callable[[list[str]], list[str] | str]] = {
    "tuiwen": tuiwen, "markdown-it-py": markdown_it, "marked": marked,
}


def speed() -> None:
    """The line pass alone, on the corpus repeated and on hostile single lines: time per line
    should stay flat as the input grows (the pass is linear; no regex backtracks badly)."""
    from publishers.markdown_ext import _new_markdown

    run = _new_markdown().preprocessors["tuiwen_editor_lines"].run
    corpus = "\n\n".join(case["markdown"] for case in load_corpus()).split("\n")
    print("editor line pass (best of 3):")
    for times in (10, 100):
        lines = corpus * times
        print(f"    corpus ×{times:<4} {len(lines):>7} lines  {_best(run, lines) / len(lines) * 1e6:6.2f} µs/line")
    hostile = {
        "#a…#a…": lambda n: "#a" * n, "- - … x": lambda n: "- " * n + "x", "全角空格…": lambda n: "\u3000" * n + "x",
        "(((…": lambda n: "（" * n, "|-|-…": lambda n: "|-" * n + "x", "*…": lambda n: "**" * n,
        "> > > …": lambda n: "> " * n + "x",
    }
    for name, make in hostile.items():
        small, large = _best(run, [make(10_000)] * 2), _best(run, [make(100_000)] * 2)
        print(f"    {name:<10} 10⁴ chars {small * 1e3:7.2f} ms, 10⁵ chars {large * 1e3:7.2f} ms (×{large / small:.1f})")


def _best(run: Callable[[list[str]], list[str]], lines: list[str]) -> float:
    import time

    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        run(list(lines))
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--failures", action="store_true", help="list the cases each renderer misses")
    args = parser.parse_args()
    cases = load_corpus()
    sources = [case["markdown"] for case in cases]
    print(f"{len(cases)} editor patterns (tests/editor_patterns.yaml)")
    for name, run in RENDERERS.items():
        htmls = run(sources)
        if isinstance(htmls, str):
            print(f"{name:<16} skipped: {htmls}")
            continue
        missed = [case["name"] for case, html in zip(cases, htmls, strict=True) if blocks(html) != case["expect"]]
        met = len(cases) - len(missed)
        print(f"{name:<16} {version(name):<10} {met:>3}/{len(cases)}  {met / len(cases):6.1%}")
        if args.failures and missed:
            print("    missed: " + ", ".join(missed))
    speed()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
