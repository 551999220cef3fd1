"""Exactly once under faults: every step of a release × every fault, then a restart.

Steps: the token, a body-image upload, a cover upload, draft/add, the send (mass_send mode),
the submit (publish mode) and the status poll. Faults: a busy answer, a timeout, an answer
lost after WeChat performed the effect — once (the run recovers by itself) or until the run
gives up — and a real ``kill -9`` of a ``publish`` process waiting at that step, before or
after WeChat performed the effect. After a restart there is exactly one push for the slot, the
ledger says so (status, msg_id or publish_id, ``publish log``), and no image was uploaded
twice — except the ones whose answer never arrived: their URL was never learnt, so they are
uploaded again and the first copy is an orphan on WeChat's side; those are counted and
reported, never hidden.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from datetime import timedelta

import pytest

from scheduler import ledger as L
from scheduler.ledger import Ledger
from tests.conftest import start_publish, wait_until
from tests.test_release import EXPECTED_TITLES, SLOT, SLOT_AT, releaser_for

# step → (endpoint, mode)
STEPS = {
    "token": ("stable_token", "mass_send"),
    "upload-body": ("media/uploadimg", "mass_send"),
    "upload-cover": ("material/add_material", "mass_send"),
    "draft": ("draft/add", "mass_send"),
    "send": ("message/mass/sendall", "mass_send"),
    "submit": ("freepublish/submit", "publish"),
    "poll-send": ("message/mass/get", "mass_send"),
    "poll-publish": ("freepublish/get", "publish"),
}
UPLOADS = {"media/uploadimg": "images", "material/add_material": "materials"}
AT = SLOT + timedelta(minutes=1)
RESTART_AT = "2024-04-02 09:03"  # the restart, two minutes after the first run (the fake's clock moves as much)


def use_mode(site, mode: str) -> None:
    if mode != "mass_send":
        text = site.config_path.read_text(encoding="utf-8")
        site.config_path.write_text(text.replace('mode = "mass_send"', f'mode = "{mode}"'), encoding="utf-8")


def advance_fake_clock(fake, seconds: float) -> None:
    """Time passes on WeChat's side: a repeated clientmsgid is refused within a minute (45066)."""
    base = fake.clock
    fake.clock = lambda: base() + seconds


def lost_effects(fake, endpoint: str) -> int:
    """Calls to ``endpoint`` that took effect without the caller ever hearing the answer."""
    return sum(1 for c in fake.calls if c.endpoint == endpoint and c.fault in ("lost", "hang_after"))


def check_exactly_once(site, fake, mode: str) -> str:
    """The promises after a restart; a summary line of the counts."""
    config = site.config
    ledger = Ledger(config.database.url)
    [release] = ledger.releases(config.account.key)
    assert release.slot == SLOT
    assert release.status == L.CONFIRMED, (release.status, release.error)
    assert [item.title for item in release.items] == EXPECTED_TITLES
    if mode == "mass_send":
        assert len(fake.mass_sends) == 1 and fake.published == {}
        [send] = fake.mass_sends
        assert release.msg_id == str(send["msg_id"])
        articles = send["articles"]
    else:
        assert len(fake.published) == 1 and fake.mass_sends == []
        [job] = fake.published.values()
        if release.publish_id is not None:
            assert release.publish_id == job["publish_id"]
        else:  # the submit's answer was lost: found again in WeChat's publish list
            events = " ".join(e.message for e in ledger.events(config.account.key, release.id))
            assert job["article_id"] in events
        assert [item.article_url for item in release.items] == [a["url"] for a in job["articles"]]
        articles = job["articles"]
    assert [a["title"] for a in articles] == EXPECTED_TITLES
    assert fake.filtered == []  # every image in the push is one WeChat issued
    log = site.publish("log")
    assert log.exit_code == 0 and "成功" in log.output and EXPECTED_TITLES[0] in log.output
    ledger.close()

    counted = []
    for endpoint, store in UPLOADS.items():
        uploaded = list(getattr(fake, store).values())
        distinct = len({u["sha256"] for u in uploaded})
        orphans = lost_effects(fake, endpoint)
        assert len(uploaded) == distinct + orphans, f"{endpoint}: an image was uploaded twice"
        assert max(Counter(u["sha256"] for u in uploaded).values()) <= 1 + orphans
        counted.append(f"{store} {len(uploaded)}/{distinct} distinct")
    pushes = len(fake.mass_sends) + len(fake.published)
    return f"pushes={pushes} " + " ".join(counted) + f" orphan_drafts={len(fake.drafts)}"


# --- in process: busy, timeout and lost, once or until the run gives up -----------------------

@pytest.mark.parametrize("persistent", [False, True], ids=["once", "until-restart"])
@pytest.mark.parametrize("fault", ["busy", "timeout", "lost"])
@pytest.mark.parametrize("step", list(STEPS))
def test_a_fault_at_any_step_then_a_restart_pushes_once(site, fake, counts, step, fault, persistent):
    endpoint, mode = STEPS[step]
    use_mode(site, mode)
    # Until-restart: more faults than the run's retries (the client tries twice here, the status
    # poll four times), so the run stops at the step and a new process has to carry it on.
    fake.inject(endpoint, fault, times=20 if persistent else 1)
    first = releaser_for(site, fake, max_attempts=2)
    first.now = lambda: AT
    outcome = first.release(SLOT)
    stopped_at = outcome.release.status
    if persistent and fault != "lost":
        assert stopped_at != L.CONFIRMED, "the fault was meant to outlast the first run"

    fake.clear_faults()  # WeChat has recovered
    advance_fake_clock(fake, 120)  # and the restart comes later than WeChat's one-minute window
    restart = site.publish("--at", RESTART_AT)
    assert restart.exit_code == 0, restart.output
    again = site.publish("--at", SLOT_AT)  # and once more: nothing left to do
    assert again.exit_code == 0 and "不会重复发送" in again.output

    line = check_exactly_once(site, fake, mode)
    counts(f"faults {step:>12} {fault:>7} {'until-restart' if persistent else 'once':>13}: "
           f"first run stopped at {stopped_at:<11} {line}")


# --- kill -9: a real `publish` process killed while it waits at the step -------------------

KILLS = [  # (step, fault): "timeout" holds before any effect, "hang_after" holds after it
    ("token", "timeout"),
    ("upload-body", "timeout"), ("upload-body", "hang_after"),
    ("upload-cover", "timeout"), ("upload-cover", "hang_after"),
    ("draft", "timeout"), ("draft", "hang_after"),
    ("send", "timeout"), ("send", "hang_after"),
    ("submit", "timeout"), ("submit", "hang_after"),
    ("poll-send", "timeout"), ("poll-publish", "timeout"),
]
SKIP = {"upload-body": 1, "upload-cover": 1}  # killed at the second upload: the first is recorded
HOLD = 120.0  # far longer than the test: the process is killed while it waits


@pytest.mark.parametrize("step, fault", KILLS, ids=[f"{s}-{f}" for s, f in KILLS])
def test_kill_9_at_any_step_then_a_restart_pushes_once(site, fake, counts, step, fault):
    endpoint, mode = STEPS[step]
    use_mode(site, mode)
    fake.timeout_hold = HOLD
    fake.inject(endpoint, fault, after=SKIP.get(step, 0))
    process = start_publish(site, fake, "--at", SLOT_AT)
    try:
        # The fake records the call before it holds it (and after any effect).
        wait_until(lambda: any(c.endpoint == endpoint and c.fault for c in list(fake.calls)), process,
                   f"publish reaching {endpoint}")
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        process.kill()
        process.stdout.close()

    ledger = Ledger(site.config.database.url)
    releases = ledger.releases(site.config.account.key)
    stopped_at = releases[0].status if releases else "(none)"
    ledger.close()
    if step == "token":
        assert stopped_at == L.CLAIMED  # the claim is committed before WeChat is called at all
    pushed_before = len(fake.mass_sends) + len(fake.published)
    went_out = step.startswith("poll") or (step in ("send", "submit") and fault == "hang_after")
    assert pushed_before == (1 if went_out else 0)

    fake.clear_faults()
    advance_fake_clock(fake, 120)  # a restart later than WeChat's one-minute clientmsgid window
    restart = site.publish("--at", RESTART_AT)
    assert restart.exit_code == 0, restart.output

    line = check_exactly_once(site, fake, mode)
    counts(f"kill -9 {step:>12} {fault:>10}: ledger at {stopped_at:<9} when killed; after restart {line}")
