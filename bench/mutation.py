"""Mutation score per module: mutmut changes one thing at a time in the modules that hold
the README's promises, and the tests of that module must notice.

    python bench/mutation.py [MODULE ...] [--children N] [--keep DIR] [--whole] [--recheck | --collect]

MODULE is one of the keys of ``MODULES`` (default: all of them).  Each module is mutated
in a scratch copy of the project (nothing is written to the work tree), with mutmut's
``[tool.mutmut]`` settings from pyproject.toml narrowed to that module and its own test
files, so a module's run is quick and independent of the others.  Prints, per module,
killed / mutants, the score and its target, then every surviving mutant by name; with
``--keep DIR`` the scratch copy stays, and ``mutmut show NAME`` there prints its diff;
``--recheck --keep DIR`` later tests again only the mutants left alive there, with the tests as
they are now (after writing tests that kill survivors: minutes, not the whole run), and
``--collect --keep DIR`` prints the figures kept there without running anything.  A mutant whose
tests still run after HANG_MINUTES (wall clock: a test waiting on a socket uses no CPU, so mutmut's
own CPU-time limit never ends it) is stopped and counted as a timeout.
Exits 0 whatever the figures (like the other bench scripts); 2 on a usage error.

A module with a focus (``release``) is mutated in the functions that guard its promises only —
the idempotency key and the send begun once, the confirmation of an unknown send within WeChat's
24-hour clientmsgid window and a minute apart, the give-up after the fifth attempt, the catch-up
deadline and 群发保护 — because every one of its mutants runs the end-to-end release and fault
tests (minutes for each survivor on a shared 2-core machine): 1098 mutants would take hours.
The table marks such a score "focus".  ``--whole`` mutates every function instead.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# module → (file, the test files that guard its promises, target score in % or None)
MODULES = {
    "plan": ("scheduler/plan.py", ["tests/test_plan.py"], 90),
    "sanitize": ("publishers/sanitize.py", ["tests/test_render.py"], 90),
    "privacy": ("scheduler/privacy.py", ["tests/test_wording.py"], 90),
    "ledger": ("scheduler/ledger.py", ["tests/test_ledger.py"], 90),
    "signoff": ("scheduler/signoff.py", ["tests/test_signoff.py"], 80),
    "release": ("scheduler/release.py", ["tests/test_release.py", "tests/test_faults.py"], 80),
    "wechat": ("publishers/wechat.py", ["tests/test_wechat.py"], 80),
}
# module → the functions mutated by default ("Class.method" or "function"); the others only with --whole.
FOCUS = {
    "release": (
        "clientmsgid", "Releaser._send", "Releaser._confirm", "Releaser._attempt", "Releaser.deadline",
        "Releaser._close_missed", "Releaser._still_sending",
    ),
}
KILLED = {"killed", "timeout", "caught by type check"}

# Survivors read and judged equivalent (no user could tell them from the original), by mutant
# name as mutmut numbers them for the current code; a changed module renumbers its mutants, so
# re-read them then.  Printed beside each survivor.
SAME_INSTANT = "astimezone(None) instead of UTC: the same instant, only compared or subtracted"
WIDER_WINDOW = "a wider search window or margin: the same slots are found"
EQUIVALENT = {
    "scheduler.plan.x__campaign__mutmut_1": "the default weight is never used: every caller passes one",
    "scheduler.plan.x__occurrence__mutmut_1": SAME_INSTANT,
    "scheduler.plan.x__utc__mutmut_1": SAME_INSTANT,
    "scheduler.plan.x_post_date__mutmut_11": SAME_INSTANT,
    "scheduler.plan.x_due__mutmut_19": "the slot is always aware here: the zone is not consulted",
    "scheduler.plan.x_overdue__mutmut_36": "the served slot is always aware here: the zone is not consulted",
    "scheduler.plan.x_overdue__mutmut_43": "slot times are always aware here: the zone is not consulted",
    "scheduler.plan.x_slot_times__mutmut_15": "a day in the server's zone is within one day of the account's: "
                                              "the one-day margin covers it",
    "scheduler.plan.x_slot_times__mutmut_19": "as above, at the other end of the window",
    "scheduler.plan.x_slot_times__mutmut_17": WIDER_WINDOW,
    "scheduler.plan.x_slot_times__mutmut_21": WIDER_WINDOW,
    "scheduler.plan.x_slot_times__mutmut_23": "the window already ends a day after its last slot",
    "scheduler.plan.x_previous_slot__mutmut_24": WIDER_WINDOW,
    "scheduler.plan.x_next_slots__mutmut_16": WIDER_WINDOW + " (a fractional number of weeks)",
    "scheduler.plan.x_next_slots__mutmut_17": WIDER_WINDOW,
    "scheduler.plan.x_next_slots__mutmut_4": "n ≤ 0 with slots, or no slots: both paths return []",
    "scheduler.plan.x_next_slots__mutmut_5": "n = 0 takes the general path and returns times[:0] = []",
    "scheduler.plan.x_overdue__mutmut_44": "slot times are always aware here: the zone is not consulted",
    "scheduler.plan.x_post_date__mutmut_15": SAME_INSTANT,
    "scheduler.plan.x_busiest_month__mutmut_5": SAME_INSTANT,
    **{f"scheduler.plan.x_busiest_month__mutmut_{n}": "a longer look ahead: weekly slots give every year its "
       "busiest months early, and the first of equals is named" for n in (1, 18)},
    **{f"scheduler.plan.x__fill__mutmut_{n}": "caps and names are keyed by category: a post without one never "
       "meets a cap, and the name is used only with a cap" for n in (19, 24, 30)},
    "scheduler.plan.x__ranked__mutmut_14": "the key of undated posts only ranks them among themselves",
    "scheduler.plan.x__ranked__mutmut_15": "the key of undated posts only ranks them among themselves",
    "scheduler.plan.x__ranked__mutmut_30": "None and False are both 'oldest first'",
    "publishers.sanitize.x__cleaner__mutmut_1": "takes the nh3 < 0.3 fallback, which cleans the same (tested)",
    "publishers.sanitize.x__cleaner__mutmut_5": "takes the nh3 < 0.3 fallback, which cleans the same (tested)",
    "publishers.sanitize.x__cleaner__mutmut_6": "takes the nh3 < 0.3 fallback, which cleans the same (tested)",
    "publishers.sanitize.x__cleaner__mutmut_7": "takes the nh3 < 0.3 fallback, which cleans the same (tested)",
    "publishers.sanitize.x_escape__mutmut_2": "skips a fast path: sub() leaves text without specials unchanged",
    "publishers.sanitize.x__escape_attribute__mutmut_2": "skips a fast path: sub() leaves text without specials "
                                                         "unchanged",
    "publishers.sanitize.x__scan__mutmut_8": "another harmless spelling of '<![': the scan reports the same",
    "publishers.sanitize.x__scan__mutmut_9": "another harmless spelling of '<![': the scan reports the same",
    "publishers.sanitize.x__write__mutmut_3": "comment elements never reach _write: the tree builder makes none",
    "publishers.sanitize.x__write__mutmut_4": "comment elements never reach _write: the tree builder makes none",
    "publishers.sanitize.xǁ_Scannerǁ__init____mutmut_1": "the scan reads tags and attributes only; attribute "
                                                         "values are unescaped either way",
    "publishers.sanitize.xǁ_Scannerǁ__init____mutmut_2": "the scan reads tags and attributes only; attribute "
                                                         "values are unescaped either way",
    "publishers.sanitize.xǁ_TreeBuilderǁ__init____mutmut_4": "callers use the root's children, never its tag",
    "publishers.sanitize.xǁ_TreeBuilderǁ__init____mutmut_5": "callers use the root's children, never its tag",
    "publishers.sanitize.xǁ_TreeBuilderǁ__init____mutmut_6": "callers use the root's children, never its tag",
    "publishers.sanitize.xǁ_TreeBuilderǁhandle_endtag__mutmut_11": "nh3's output is well formed: the closing "
                                                                   "tag is always the top of the stack",
    "publishers.sanitize.xǁ_TreeBuilderǁhandle_starttag__mutmut_11": "nh3 writes every attribute with a value",
    "scheduler.privacy.x_luhn_ok__mutmut_15": "-total is a multiple of 10 exactly when total is",
    "scheduler.privacy.x_private_numbers__mutmut_27": "two findings never touch: every pattern refuses a digit "
                                                      "right before and after it",
    "scheduler.privacy.x_private_numbers__mutmut_28": "two findings never touch: every pattern refuses a digit "
                                                      "right before and after it",
    **{f"scheduler.privacy.x_id_checksum_ok__mutmut_{n}": "zip's strict check: the ID patterns give 18 "
       "characters, so the first 17 and the 17 weights always agree in length" for n in (7, 10, 12)},
    "scheduler.privacy.x__masked_id__mutmut_10": "the floor of the stars never applies: a masked number has "
                                                 "15 to 19 characters, so len - 10 is at least 5",
    "scheduler.privacy.x_private_numbers__mutmut_100": "the card pattern takes at most 19 digits: 20 is never seen",
    **{f"scheduler.privacy.x_private_numbers__mutmut_{n}": "a mobile's digits only feed its mask, whose first 3 "
       "and last 4 characters are digits however the separators are removed" for n in (120, 121)},
    # A shortcut or memo skipped: the slow path it stands in for gives the same answer.
    **{f"scheduler.plan.{name}": "a memo skipped: each post's never-eligible reason is worked out again, "
       "the same" for name in ("x__ineligible__mutmut_10", "x_choose__mutmut_28", "x_choose__mutmut_34",
                               "x_forecast__mutmut_29", "x_forecast__mutmut_35")},
    "scheduler.plan.x_choose__mutmut_54": "a caller asking for no reasons never reads them: None and () alike",
    "scheduler.plan.x_choose_again__mutmut_5": "the contenders were all eligible, so none of them is published",
    "scheduler.signoff.x__web__mutmut_4": "a memo skipped: the console's approvals are indexed again, the same",
    **{f"scheduler.signoff.x_check_signoff__mutmut_{n}": "the records file is read again instead of reusing "
       "what was read: the same records" for n in (4, 7)},
    "scheduler.ledger.xǁLedgerǁevents__mutmut_2": "no ORDER BY: SQL promises no order, but the event table is "
                                                   "append-only and every backend reads it in insert order",
    **{f"scheduler.ledger.x__ensure_sqlite_folder__mutmut_{n}": "split at every '///' or take part 1: a "
       "ledger path never holds '///' after the scheme" for n in (5, 8, 9)},
    **{f"scheduler.ledger.x__ensure_sqlite_folder__mutmut_{n}": "':memory:' or no path: the folder it makes is "
       "the current one, which exists" for n in (11, 13, 14)},
    **{f"scheduler.release.x_clientmsgid__mutmut_{n}": "another spelling of the same key, still per account and "
       "slot and under 32 plain characters; it is recorded at the send and asked with from the ledger"
       for n in (3, 5)},
    **{f"scheduler.release.xǁReleaserǁ_confirm__mutmut_{n}": "_Stop(None, …): the state machine keeps the "
       "release it was carrying, the same one" for n in (9, 26, 45, 54, 59)},
    "scheduler.release.xǁReleaserǁ_attempt__mutmut_24": "_Stop(None, …): the outcome's release is read again "
                                                        "from the ledger by id at the end, the same row",
    "scheduler.release.xǁReleaserǁ_send__mutmut_11": "a clientmsgid recorded for a free publish too: only a "
                                                     "mass send (and its resend) ever reads it",
    **{f"scheduler.release.xǁReleaserǁ_still_sending__mutmut_{n}": "a sent release always has sent_at: the "
       "fallbacks are never reached" for n in (3, 4)},
    "scheduler.ledger.xǁLedgerǁreopen__mutmut_34": "typing.cast() does nothing at run time",
    "publishers.wechat.xǁTuiwenClientǁ_error__mutmut_77": "typing.cast() does nothing at run time",
    "publishers.wechat.xǁTuiwenClientǁ_error__mutmut_1": "every caller passes safe= explicitly",
    "publishers.wechat.xǁTuiwenClientǁfetch_access_token__mutmut_5": "with_token=None is as false as False",
    "publishers.wechat.xǁTuiwenClientǁfetch_access_token__mutmut_12": "the method is upper-cased before sending",
    **{f"publishers.wechat.xǁ_Failureǁof_code__mutmut_{n}": "the kind 'code' is only told apart from the other "
       "kinds; any other name for it behaves the same" for n in (17, 18)},
    **{f"publishers.wechat.xǁTuiwenClientǁfetch_access_token__mutmut_{n}": "the stored expiry (…_expires_at) "
       "decides when a token is replaced; a storage's own lifetime only tidies up (7200 s when not given)"
       for n in (43, 46, 51, 54)},
    **{f"publishers.wechat.xǁTuiwenClientǁfetch_access_token__mutmut_{n}": "wechatpy reads expires_at only in the "
       "access_token property this client replaces" for n in (57, 58)},
    **{f"publishers.wechat.xǁTuiwenClientǁ_request__mutmut_{n}": "no API group tuiwen calls passes a "
       "result_processor" for n in (6, 7, 10, 11, 39, 41)},
    "publishers.wechat.x__never_sent__mutmut_3": "requests' ConnectionError always carries its reason",
    "publishers.wechat.xǁTuiwenClientǁ_request__mutmut_75": "what the debug line prints for a failure with "
                                                           "neither errcode nor HTTP status (a timeout), whose "
                                                           "kind it prints beside",
    "publishers.wechat.xǁTuiwenClientǁ_request__mutmut_104": "with 4 attempts the waits are 1, 2 and 4 s: the 30 s "
                                                            "cap is never reached",
    "publishers.wechat.xǁTuiwenClientǁ_send__mutmut_17": "ensure_ascii=None is as false as False",
    "publishers.wechat.xǁTuiwenClientǁ_send__mutmut_22": "'UTF-8' and 'utf-8' name the same codec",
    **{f"publishers.wechat.xǁTuiwenClientǁ_send__mutmut_{n}": "HTTP header names, media types and charset names "
       "are case-insensitive" for n in (25, 26, 28)},
    **{f"publishers.wechat.xǁTuiwenClientǁ_send__mutmut_{n}": "WeChat reads a POST body as JSON whatever its "
       "Content-Type (wechatpy itself sends none)" for n in (23, 27, 48, 55)},
    **{f"publishers.wechat.xǁTuiwenClientǁ_send__mutmut_{n}": "no API group tuiwen calls passes a full URL (kept "
       "for wechatpy's own groups)" for n in (30, 33, 34, 35, 36)},
    "publishers.wechat.xǁTuiwenClientǁ_send__mutmut_57": "requests upper-cases the method when it prepares a request",
    "publishers.wechat.xǁTuiwenClientǁ_send__mutmut_98": "'UTF-8' and 'utf-8' name the same codec",
    "publishers.wechat.xǁWeChatPublisherǁ__init____mutmut_1": "a request judged timed out after 31 s instead of 30: "
                                                            "nobody could tell",
    **{f"publishers.wechat.xǁTuiwenClientǁ__init____mutmut_{n}": "WeChatPublisher always passes its own timeout "
       "and number of attempts: the client's defaults are never used" for n in (1, 2)},
    **{f"publishers.wechat.xǁTuiwenClientǁ__init____mutmut_{n}": "wechatpy reads auto_retry only in its own "
       "_request and token fetch, both replaced by this client" for n in (7, 12, 13)},
    "publishers.wechat.xǁTuiwenClientǁ__init____mutmut_26": "tuiwen makes its client with 4 attempts: a floor of 1 "
                                                           "or 2 only matters below that",
    **{f"publishers.wechat.xǁTuiwenClientǁ__init____mutmut_{n}": "real AppSecrets are 32 characters: whether one of "
       "exactly 8 is scrubbed, no account can tell" for n in (27, 28)},
    "publishers.wechat.xǁWeChatPublisherǁmass_send__mutmut_12": "a missing errcode is success either way: never 45065",
    "publishers.wechat.xǁWeChatPublisherǁpublish_status__mutmut_20": "WeChat fills fail_idx only when publishing "
                                                                      "failed",
    "publishers.wechat.xǁWeChatPublisherǁfind_publication__mutmut_8": "the API's default count is the same 20",
    "publishers.wechat.xǁWeChatPublisherǁfind_publication__mutmut_50": "with no total_count both stop after the "
                                                                        "first page",
    "scheduler.signoff.x_with_ledger__mutmut_6": SAME_INSTANT + " (shown in the account's zone by _when)",
    "scheduler.signoff.x_with_ledger__mutmut_17": SAME_INSTANT + " (shown in the account's zone by _when)",
    "scheduler.signoff.x_names__mutmut_6": "signers() answers None and () alike: no names",
    "scheduler.signoff.x_signers__mutmut_22": "an absent last role as the signing role signs nobody, as '' does",
    "scheduler.signoff.x_signers__mutmut_25": "roles is never empty (roles_of falls back to the defaults): "
                                              "as mutant 22",
    "scheduler.signoff.x_signers__mutmut_29": "no role is named 'XXXX': nobody signs, as with ''",
    "scheduler.signoff.x_post_digest__mutmut_1": "skips a shortcut: approvals name the LF hash, so the "
                                                "second read gives the same answer",
    "scheduler.signoff.x_entries_of__mutmut_7": "skips a shortcut: with no console approvals _web() finds none",
    "scheduler.signoff.x_resolve_post__mutmut_5": "an absolute path joined to a folder is itself",
    "scheduler.signoff.x_approve__mutmut_39": "reads back the records it has just written: the same records",
    "scheduler.signoff.x_approve__mutmut_42": "reads back the records it has just written: the same records",
    **{f"scheduler.signoff.x__approval__mutmut_{n}": "an unreadable post always carries a problem saying why: "
       "the fallback reason is never used" for n in (36, 38, 39)},
    **{f"scheduler.signoff.x_write__mutmut_{n}": "the locale's encoding: UTF-8 wherever this runs (kept explicit "
       "for Windows)" for n in (19, 23)},
    **{f"scheduler.signoff.x_write__mutmut_{n}": "newline translation on POSIX writes '\\n' as '\\n' "
       "(kept explicit for Windows)" for n in (20, 24)},
    "scheduler.signoff.x_write__mutmut_28": "'UTF-8' and 'utf-8' name one codec",
    "scheduler.signoff.x_write__mutmut_36": "suppress() is consulted only if removing the temporary file fails: "
                                            "the file it has just made is always there to remove",
    **{f"publishers.sanitize.xǁ_TreeBuilderǁhandle_startendtag__mutmut_{n}":
       "never called: nh3 writes void elements as <br>, not <br/>" for n in range(1, 11)},
}
IGNORED = ("mutants", ".git", ".hypothesis", ".pytest_cache", "__pycache__", "state", "preview", "*.egg-info")
RESULT_LINE = re.compile(r"^\s+(\S+): (.+)$")


def scratch_copy(target: Path) -> None:
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(*IGNORED), symlinks=True)


def narrow_config(project: Path, module_file: str, tests: list[str]) -> None:
    """The copy's [tool.mutmut]: the shared settings, only this module, only its tests."""
    path = project / "pyproject.toml"
    text = path.read_text(encoding="utf-8")
    base = tomllib.loads(text)["tool"]["mutmut"]
    start = text.index("[tool.mutmut]")
    following = re.search(r"^\[", text[start + 1:], re.MULTILINE)
    end = start + 1 + following.start() if following else len(text)
    settings = {**base, "only_mutate": [module_file], "pytest_add_cli_args_test_selection": tests}
    lines = ["[tool.mutmut]"] + [f"{key} = {_toml(value)}" for key, value in settings.items()]
    path.write_text(text[:start] + "\n".join(lines) + "\n" + text[end:], encoding="utf-8")


def _toml(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


HANG_MINUTES = 10  # a mutant's tests still running after this long (wall clock) are stopped as a timeout


def mutmut(project: Path, *args: str, capture: bool = False) -> subprocess.CompletedProcess:
    process = subprocess.Popen([sys.executable, "-m", "mutmut", *args], cwd=project, text=True,
                               stdout=subprocess.PIPE if capture else None,
                               stderr=subprocess.PIPE if capture else None)
    done = threading.Event()
    watchdog = threading.Thread(target=_stop_hung_mutants, args=(process.pid, done), daemon=True)
    watchdog.start()
    try:
        stdout, stderr = process.communicate()
    finally:
        done.set()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _stop_hung_mutants(parent: int, done: threading.Event) -> None:
    """Send SIGXCPU to a mutant's worker running longer than HANG_MINUTES: mutmut then records a timeout.

    mutmut limits a mutant by CPU time, which a test waiting on a socket never uses: a mutant that
    drops the HTTP client's timeout (or the fault tests' hold) would otherwise wait forever.
    """
    first_seen: dict[int, float] = {}
    while not done.wait(15):
        for pid in _workers_of(parent):
            started = first_seen.setdefault(pid, time.monotonic())
            if time.monotonic() - started > HANG_MINUTES * 60:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGXCPU)


def _workers_of(parent: int) -> list[int]:
    """The pids of mutmut's mutant workers under ``parent`` (their title is "mutmut: NAME")."""
    workers = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().split(b"\0")[0]
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and title.startswith(b"mutmut: "):
            workers.append(int(entry.name))
    return workers


def mutant_globs(module_file: str, functions: tuple[str, ...]) -> list[str]:
    """mutmut's names of the mutants of ``functions`` (it writes a method Class.m as xǁClassǁm)."""
    module = module_file.removesuffix(".py").replace("/", ".")
    globs = []
    for function in functions:
        owner, _, method = function.rpartition(".")
        globs.append(f"{module}.xǁ{owner}ǁ{method}__mutmut_*" if owner else f"{module}.x_{function}__mutmut_*")
    return globs


def run_module(name: str, children: int, keep: Path | None, whole: bool = False) -> dict:
    module_file, tests, _ = MODULES[name]
    focus = () if whole else FOCUS.get(name, ())
    globs = mutant_globs(module_file, focus)
    holder = Path(tempfile.mkdtemp(prefix=f"tuiwen-mutmut-{name}-")) if keep is None else keep / name
    project = holder / "project"
    if project.exists():
        shutil.rmtree(project)
    scratch_copy(project)
    narrow_config(project, module_file, tests)
    started = time.monotonic()
    mutmut(project, "run", "--max-children", str(children), *globs)
    statuses = results_of(project, globs)
    if keep is None:
        shutil.rmtree(holder, ignore_errors=True)
    return summary(name, statuses, started, project if keep else None, len(focus))


def recheck_module(name: str, children: int, keep: Path, whole: bool = False) -> dict:
    """Test again the mutants a kept run left alive, with the tests as they are now (new tests too).

    Minutes instead of the whole run after writing the tests that kill survivors; the module's
    code must not have changed since (mutmut would number its mutants differently).
    """
    module_file = MODULES[name][0]
    focus = () if whole else FOCUS.get(name, ())
    globs = mutant_globs(module_file, focus)
    project = keep / name / "project"
    if not (project / "mutants").is_dir():
        raise SystemExit(f"没有保留的 {name} 运行：先运行 python bench/mutation.py {name} --keep {keep}")
    for folder in (project / "tests", project / "mutants" / "tests"):
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(ROOT / "tests", folder, ignore=shutil.ignore_patterns(*IGNORED))
    started = time.monotonic()
    # Survivors read and judged equivalent cannot be killed by any test: not run again.
    alive = [k for k, s in results_of(project, globs).items() if s not in KILLED | {"skipped"} and k not in EQUIVALENT]
    if alive:
        mutmut(project, "run", "--max-children", str(children), *alive)
    return summary(name, results_of(project, globs), started, project, len(focus))


def collect_module(name: str, children: int, keep: Path, whole: bool = False) -> dict:
    """The figures of a kept run as they stand, running nothing (a run stopped early: its untested
    mutants show as "not checked" and count as not killed)."""
    project = keep / name / "project"
    if not (project / "mutants").is_dir():
        raise SystemExit(f"没有保留的 {name} 运行：先运行 python bench/mutation.py {name} --keep {keep}")
    focus = () if whole else FOCUS.get(name, ())
    return summary(name, results_of(project, mutant_globs(MODULES[name][0], focus)), time.monotonic(), project,
                   len(focus))


def results_of(project: Path, globs: list[str]) -> dict[str, str]:
    """Mutant name → mutmut's status, of the mutants matching ``globs`` (all when none)."""
    listing = mutmut(project, "results", "--all", "true", capture=True).stdout
    statuses = {m.group(1): m.group(2).strip() for m in map(RESULT_LINE.match, listing.splitlines()) if m}
    if globs:
        statuses = {k: v for k, v in statuses.items() if any(fnmatch.fnmatchcase(k, g) for g in globs)}
    return statuses


def summary(name: str, statuses: dict[str, str], started: float, kept: Path | None, focus: int) -> dict:
    module_file, _, target = MODULES[name]
    counts = Counter(statuses.values())
    killed = sum(counts[s] for s in KILLED)
    total = len(statuses) - counts["skipped"]
    return {"name": name, "file": module_file, "target": target, "killed": killed, "total": total,
            "score": 100 * killed / total if total else 0.0, "counts": counts,
            "survivors": sorted(k for k, s in statuses.items() if s not in KILLED | {"skipped"}),
            "minutes": (time.monotonic() - started) / 60, "kept": kept, "focus": focus}


def report(results: list[dict]) -> None:
    print("\nmutation score per module (killed = a test failed on the mutant)")
    print(f"{'module':<10} {'file':<24} {'killed':>7} {'mutants':>8} {'score':>7} {'target':>7}  minutes")
    for r in results:
        target = f"≥{r['target']}%" if r["target"] else "—"
        mark = "" if r["target"] is None else (" ✓" if r["score"] >= r["target"] else " ✗")
        focus = f"  focus: {r['focus']} functions guarding promises" if r["focus"] else ""
        print(f"{r['name']:<10} {r['file']:<24} {r['killed']:>7} {r['total']:>8} {r['score']:>6.1f}% "
              f"{target:>7}{mark}  {r['minutes']:.1f}{focus}")
    for r in results:
        others = {k: v for k, v in r["counts"].items() if k not in KILLED}
        if r["survivors"]:
            print(f"\n{r['name']}: {len(r['survivors'])} not killed {dict(others)}"
                  + (f" (mutmut show NAME in {r['kept']})" if r["kept"] else ""))
            for survivor in r["survivors"]:
                reason = EQUIVALENT.get(survivor)
                print(f"    {survivor}" + (f"  — equivalent: {reason}" if reason else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=", ".join(MODULES))
    parser.add_argument("--children", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("--keep", type=Path, help="keep the scratch copies under this folder")
    parser.add_argument("--whole", action="store_true", help="mutate every function, not only a module's focus")
    parser.add_argument("--recheck", action="store_true",
                        help="with --keep: test again only the mutants a kept run left alive, with today's tests")
    parser.add_argument("--collect", action="store_true",
                        help="with --keep: print the figures of kept runs as they stand, running nothing")
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    if args.keep:
        args.keep = args.keep.resolve()
        args.keep.mkdir(parents=True, exist_ok=True)
    if (args.recheck or args.collect) and not args.keep:
        parser.error("--recheck and --collect need --keep DIR (the folder of an earlier run)")
    run = collect_module if args.collect else recheck_module if args.recheck else run_module
    results = [run(name, args.children, args.keep, args.whole) for name in args.modules or MODULES]
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
