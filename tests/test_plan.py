"""Planning: slots across timezones and DST, due/late/missed, and the bundle choice with reasons."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.config import Slot, parse_slot
from scheduler.plan import (
    BUNDLE_FULL,
    CATEGORY_CAP,
    DEFAULT_CAMPAIGNS,
    DRAFT,
    DUPLICATE,
    EXPIRED,
    INVALID,
    LATE,
    MISSED,
    NO_CATEGORY,
    NOT_REVIEWED,
    NOT_YET,
    ON_TIME,
    ON_TIME_GRACE,
    PUBLISHED,
    Bundle,
    Campaign,
    Due,
    Published,
    Rules,
    as_published,
    choose,
    choose_again,
    due,
    forecast,
    next_slots,
    overdue,
    previous_slot,
    rules_from_config,
    slot_times,
)
from scheduler.plan import busiest_month as busiest_month_ahead
from scheduler.posts import ERROR, WARNING, Post, Problem

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")

TUE_FRI = (Slot(1, 9, 0), Slot(4, 9, 0))
SUNDAY_0230 = (parse_slot("sun 02:30"),)
SLOT = datetime(2024, 4, 2, 9, 0, tzinfo=SH)  # a Tuesday in the fund-supervision month
JUNE = datetime(2024, 6, 4, 9, 0, tzinfo=SH)
RULES = Rules(caps={"weekly-study": 1}, category_names={"weekly-study": "每周一学", "news": "工作动态"})


def sh(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def post(rel: str, **fields) -> Post:
    """A ready, valid post in the folder's category unless told otherwise."""
    fields.setdefault("category", rel.split("/")[0] if "/" in rel else None)
    fields.setdefault("status", "ready")
    fields.setdefault("title", rel)
    fields.setdefault("sha256", hashlib.sha256(rel.encode()).hexdigest())
    return Post(path=Path("/c") / rel, rel=rel, **fields)


def rels(posts) -> list[str]:
    return [p.rel for p in posts]


def reasons(bundle: Bundle) -> dict[str, str]:
    return {o.post.rel: o.reason_code for o in bundle.left_out}


def message(bundle: Bundle, rel: str) -> str:
    return next(o.message_zh for o in bundle.left_out if o.post.rel == rel)


# --- slots --------------------------------------------------------------------

def test_next_slots_from_monday_noon():
    assert next_slots(TUE_FRI, SH, sh("2024-04-01 12:00"), 2) == [sh("2024-04-02 09:00"), sh("2024-04-05 09:00")]
    assert next_slots(TUE_FRI, "Asia/Shanghai", sh("2024-04-02 09:00"), 1) == [sh("2024-04-05 09:00")]
    assert next_slots(TUE_FRI, SH, sh("2024-04-01 12:00"), 0) == []


def test_slot_times_are_half_open_sorted_and_in_the_zone():
    times = slot_times(TUE_FRI, SH, sh("2024-04-02 09:00"), sh("2024-04-09 09:00"))
    assert times == [sh("2024-04-02 09:00"), sh("2024-04-05 09:00")]
    assert all(t.tzinfo is SH for t in times)
    assert slot_times(TUE_FRI, SH, datetime(2024, 4, 2, 1, 0, tzinfo=UTC), sh("2024-04-02 09:01")) == [
        sh("2024-04-02 09:00")]  # 01:00 UTC is 09:00 in Shanghai


def test_previous_slot_includes_the_exact_time():
    assert previous_slot(TUE_FRI, SH, sh("2024-04-02 09:00")) == sh("2024-04-02 09:00")
    assert previous_slot(TUE_FRI, SH, sh("2024-04-02 08:59")) == sh("2024-03-29 09:00")
    assert previous_slot(TUE_FRI, SH, datetime(2024, 4, 4, 12, 0)) == sh("2024-04-02 09:00")  # naive = local
    with pytest.raises(ValueError):
        previous_slot((), SH, SLOT)


@pytest.mark.parametrize("at, expected", [
    ("2024-04-02 08:59", None),  # Friday's slot is long past
    ("2024-04-02 09:00", ON_TIME),
    ("2024-04-02 09:10", ON_TIME),
    ("2024-04-02 09:11", LATE),
    ("2024-04-02 15:00", LATE),
    ("2024-04-02 15:01", None),  # beyond catch_up_hours: missed
])
def test_due_on_time_late_missed(at, expected):
    result = due(TUE_FRI, SH, sh(at), 6)
    assert (result and result.state) == expected
    if result:
        assert result == Due(sh("2024-04-02 09:00"), expected)


def test_due_on_time_even_without_catch_up():
    assert due(TUE_FRI, SH, sh("2024-04-02 09:05"), 0) == Due(sh("2024-04-02 09:00"), ON_TIME)
    assert due(TUE_FRI, SH, sh("2024-04-02 09:30"), 0) is None
    assert timedelta(minutes=10) == ON_TIME_GRACE


def test_overdue_after_a_two_week_outage_releases_only_the_newest():
    since = sh("2024-04-02 09:00")  # the last slot served
    assert overdue(TUE_FRI, SH, since, sh("2024-04-16 10:00"), 6) == [
        (sh("2024-04-05 09:00"), MISSED), (sh("2024-04-09 09:00"), MISSED),
        (sh("2024-04-12 09:00"), MISSED), (sh("2024-04-16 09:00"), LATE),
    ]


def test_overdue_beyond_the_window_is_all_missed():
    result = overdue(TUE_FRI, SH, sh("2024-04-02 09:00"), sh("2024-04-16 20:00"), 6)
    assert [state for _, state in result] == [MISSED] * 4


def test_overdue_newest_on_time_and_bounds():
    result = overdue(TUE_FRI, SH, sh("2024-04-05 09:00"), sh("2024-04-09 09:00"), 6)
    assert result == [(sh("2024-04-09 09:00"), ON_TIME)]  # since excluded, at included
    assert overdue(TUE_FRI, SH, sh("2024-04-09 09:00"), sh("2024-04-09 12:00"), 6) == []


def test_spring_forward_slot_in_the_gap_happens_once():
    # Europe/Berlin, 2024-03-31: 02:00 → 03:00; 02:30 does not exist that night.
    times = slot_times(SUNDAY_0230, BERLIN, datetime(2024, 3, 25, tzinfo=BERLIN), datetime(2024, 4, 8, tzinfo=BERLIN))
    assert [t.astimezone(UTC) for t in times] == [
        datetime(2024, 3, 31, 1, 30, tzinfo=UTC),  # = 03:30 CEST, shifted by the gap
        datetime(2024, 4, 7, 0, 30, tzinfo=UTC),  # = 02:30 CEST
    ]
    assert times[0].strftime("%H:%M %z") == "03:30 +0200"
    first = next_slots(SUNDAY_0230, BERLIN, datetime(2024, 3, 31, 0, 0, tzinfo=UTC), 1)[0]
    assert first == times[0]
    merged = (parse_slot("sun 02:30"), parse_slot("sun 03:30"))  # the same instant that night: one push
    assert len(slot_times(merged, BERLIN, datetime(2024, 3, 31, tzinfo=BERLIN), datetime(2024, 4, 1, tzinfo=BERLIN))) == 1


def test_fall_back_slot_in_the_repeated_hour_happens_once():
    # Europe/Berlin, 2024-10-27: 03:00 → 02:00; 02:30 happens twice on the wall clock.
    times = slot_times(SUNDAY_0230, BERLIN, datetime(2024, 10, 26, tzinfo=UTC), datetime(2024, 10, 28, tzinfo=UTC))
    assert [t.astimezone(UTC) for t in times] == [datetime(2024, 10, 27, 0, 30, tzinfo=UTC)]  # first pass, CEST
    second_pass = datetime(2024, 10, 27, 1, 45, tzinfo=UTC).astimezone(BERLIN)  # 02:45 CET
    assert second_pass.strftime("%H:%M") == "02:45"
    assert due(SUNDAY_0230, BERLIN, second_pass, 6).state == LATE  # 75 real minutes, not 15
    assert next_slots(SUNDAY_0230, BERLIN, second_pass, 1)[0].date().isoformat() == "2024-11-03"


def test_weekly_slot_across_dst_keeps_the_wall_clock():
    times = slot_times(TUE_FRI[:1], BERLIN, datetime(2024, 3, 25, tzinfo=BERLIN), datetime(2024, 4, 3, tzinfo=BERLIN))
    assert [t.strftime("%m-%d %H:%M %z") for t in times] == ["03-26 09:00 +0100", "04-02 09:00 +0200"]
    assert times[1].astimezone(UTC) - times[0].astimezone(UTC) == timedelta(days=7, hours=-1)


def test_shanghai_has_no_dst():
    times = slot_times(SUNDAY_0230, SH, sh("2024-01-01 00:00"), sh("2025-01-01 00:00"))
    assert len(times) == 52
    assert {t.utcoffset() for t in times} == {timedelta(hours=8)}
    assert all((t.hour, t.minute) == (2, 30) for t in times)


@settings(max_examples=200, deadline=None)
@given(minutes=st.integers(0, 366 * 24 * 60), tz=st.sampled_from([BERLIN, SH]))
def test_previous_and_next_slot_bracket_any_instant(minutes, tz):
    slots = (*SUNDAY_0230, parse_slot("sun 02:00"), parse_slot("tue 09:00"))
    at = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    before, after = previous_slot(slots, tz, at), next_slots(slots, tz, at, 1)[0]
    assert before <= at < after
    assert slot_times(slots, tz, before, after) == [before]  # nothing in between
    # A local week across a DST change lasts 167 or 169 hours: in any 167 hours each weekly
    # slot happens at most once (the spring-forward 02:00 and 02:30 may share 03:00).
    week = slot_times(slots, tz, at - timedelta(hours=167), at)
    assert len(week) == len({t.astimezone(UTC) for t in week}) <= 3


# --- choose: each rule and its reason -------------------------------------------

@pytest.mark.parametrize("kwargs, code, words", [
    ({"status": "draft"}, DRAFT, "草稿"),
    ({"problems": [Problem("news/x.md", 3, WARNING, "小问题"), Problem("news/x.md", 4, ERROR, "标题过长")]},
     INVALID, "第 4 行：标题过长"),
    ({"publish_after": sh("2024-04-02 09:01")}, NOT_YET, "2024-04-02 09:01"),
    ({"expires": sh("2024-04-02 09:00")}, EXPIRED, "2024-04-02 09:00"),
    ({"category": None}, NO_CATEGORY, "分类"),
])
def test_each_filter_leaves_the_post_out_with_its_reason(kwargs, code, words):
    bundle = choose([post("news/x.md", **kwargs), post("news/ok.md")], set(), SLOT, RULES)
    assert rels(bundle.items) == ["news/ok.md"]
    assert reasons(bundle) == {"news/x.md": code}
    assert words in message(bundle, "news/x.md")


def test_review_required_needs_both_signatures():
    posts = [post("news/none.md"), post("news/half.md", reviewed_by="张三"),
             post("news/both.md", reviewed_by="张三", approved_by="李四")]
    strict = choose(posts, set(), SLOT, Rules(review_required=True))
    assert rels(strict.items) == ["news/both.md"]
    assert reasons(strict) == {"news/none.md": NOT_REVIEWED, "news/half.md": NOT_REVIEWED}
    assert "approved_by" in message(strict, "news/half.md") and "reviewed_by" not in message(strict, "news/half.md")
    assert len(choose(posts, set(), SLOT, Rules(review_required=False)).items) == 3


def test_already_published_by_rel_or_sha_is_left_out():
    moved = post("policy/renamed.md", sha256="a" * 64)
    posts = [post("news/old.md"), moved, post("news/new.md")]
    bundle = choose(posts, Published(frozenset({"news/old.md"}), frozenset({"a" * 64})), SLOT)
    assert rels(bundle.items) == ["news/new.md"]
    assert reasons(bundle) == {"news/old.md": PUBLISHED, "policy/renamed.md": PUBLISHED}
    assert reasons(choose(posts, {"news/old.md", "a" * 64}, SLOT)) == reasons(bundle)  # plain strings too
    assert as_published(["news/old.md", "a" * 64]) == Published(frozenset({"news/old.md"}), frozenset({"a" * 64}))


def test_publish_after_inclusive_expires_exclusive():
    posts = [post("news/starts.md", publish_after=SLOT), post("news/ends.md", expires=SLOT),
             post("news/ends-later.md", expires=SLOT + timedelta(minutes=1))]
    bundle = choose(posts, set(), SLOT)
    assert sorted(rels(bundle.items)) == ["news/ends-later.md", "news/starts.md"]
    assert reasons(bundle) == {"news/ends.md": EXPIRED}


def test_times_compare_as_instants_across_zones():
    utc_start = datetime(2024, 4, 2, 1, 0, tzinfo=UTC)  # exactly 09:00 in Shanghai
    assert rels(choose([post("news/a.md", publish_after=utc_start)], set(), SLOT).items) == ["news/a.md"]


def test_lead_comes_first():
    posts = [post("news/a.md", priority=5), post("news/lead.md", lead=True, priority=-3), post("news/b.md")]
    assert rels(choose(posts, set(), SLOT).items) == ["news/lead.md", "news/a.md", "news/b.md"]


def test_several_leads_priority_then_newest_wins_the_headline():
    posts = [
        post("news/lead-old.md", lead=True, priority=2, publish_after=sh("2024-03-01 08:00")),
        post("news/lead-new.md", lead=True, priority=2, publish_after=sh("2024-03-20 08:00")),
        post("news/lead-low.md", lead=True, priority=1, publish_after=sh("2024-04-01 08:00")),
        post("news/plain.md", priority=3),
    ]
    items = rels(choose(posts, set(), SLOT).items)
    assert items == ["news/lead-new.md", "news/plain.md", "news/lead-old.md", "news/lead-low.md"]


def test_priority_then_age_then_path():
    posts = [
        post("news/undated.md"),
        post("news/2024-03-10-named.md"),
        post("news/b.md", publish_after=sh("2024-03-01 08:00")),
        post("news/a.md", publish_after=sh("2024-03-01 08:00")),
        post("news/2024-02-30-not-a-date.md"),
        post("news/urgent.md", priority=1),
    ]
    assert rels(choose(posts, set(), SLOT).items) == [
        "news/urgent.md", "news/a.md", "news/b.md", "news/2024-03-10-named.md",
        "news/2024-02-30-not-a-date.md", "news/undated.md",
    ]


def test_weekly_study_at_most_one_per_bundle():
    posts = [post(f"weekly-study/2024-03-0{i}-study.md") for i in range(1, 4)] + [post("news/a.md")]
    bundle = choose(posts, set(), SLOT, RULES)
    assert rels(bundle.items) == ["weekly-study/2024-03-01-study.md", "news/a.md"]
    assert set(reasons(bundle).values()) == {CATEGORY_CAP}
    assert "每周一学" in message(bundle, "weekly-study/2024-03-02-study.md")


def test_at_most_max_articles_and_never_more_than_eight():
    posts = [post(f"news/{i:02d}.md") for i in range(12)]
    full = choose(posts, set(), SLOT, Rules(max_articles=20))
    assert len(full.items) == 8 and list(reasons(full).values()) == [BUNDLE_FULL] * 4
    assert "8 篇" in full.left_out[0].message_zh
    assert len(choose(posts, set(), SLOT, Rules(max_articles=3)).items) == 3


def test_campaign_month_weights_categories_up():
    posts = [post("fund-supervision/a.md"), post("news/b.md", priority=5), post("policy/c.md")]
    assert rels(choose(posts, set(), SLOT).items)[0] == "fund-supervision/a.md"  # April: 0 + 10 > 5
    assert rels(choose(posts, set(), JUNE).items)[0] == "news/b.md"
    assert rels(choose(posts, set(), sh("2024-09-03 09:00")).items)[0] == "policy/c.md"
    no_campaigns = Rules(campaigns=())
    assert rels(choose(posts, set(), SLOT, no_campaigns).items)[0] == "news/b.md"
    custom = Rules(campaigns=(Campaign("新闻月", frozenset({6}), frozenset({"news"}), weight=1),))
    assert rels(choose(posts, set(), JUNE, custom).items)[0] == "news/b.md"


def test_campaign_month_is_the_account_timezone_month():
    slot = datetime(2024, 3, 31, 17, 0, tzinfo=UTC)  # 1 April, 01:00 in Shanghai
    posts = [post("fund-supervision/a.md"), post("news/b.md", priority=5)]
    bundle = choose(posts, set(), slot, Rules(tz="Asia/Shanghai"))
    assert rels(bundle.items)[0] == "fund-supervision/a.md"
    assert bundle.slot == sh("2024-04-01 01:00") and bundle.slot.tzinfo is SH
    with pytest.raises(ValueError):
        choose(posts, set(), datetime(2024, 4, 2, 9, 0), Rules())


def test_the_same_file_twice_goes_out_once():
    twin = post("news/copy.md", sha256="b" * 64)
    bundle = choose([post("news/orig.md", sha256="b" * 64), twin], set(), SLOT)
    assert rels(bundle.items) == ["news/copy.md"]
    assert reasons(bundle) == {"news/orig.md": DUPLICATE}


def test_empty_bundle():
    bundle = choose([post("news/a.md", status="draft")], set(), SLOT)
    assert bundle.empty and bundle.headline is None
    assert not choose([post("news/a.md")], set(), SLOT).empty


def test_forecast_never_repeats_a_post():
    posts = [post(f"weekly-study/{i}.md") for i in range(3)] + [post(f"news/{i:02d}.md") for i in range(10)]
    bundles = forecast(posts, {"news/00.md"}, TUE_FRI, SH, sh("2024-04-01 12:00"), 4, RULES)
    assert [b.slot for b in bundles][:3] == [sh("2024-04-02 09:00"), sh("2024-04-05 09:00"), sh("2024-04-09 09:00")]
    chosen = [p.rel for b in bundles for p in b.items]
    assert len(chosen) == len(set(chosen)) == 12 and "news/00.md" not in chosen
    assert [sum(p.category == "weekly-study" for p in b.items) for b in bundles] == [0, 1, 1, 1]  # cap 1 each
    assert [len(b.items) for b in bundles] == [8, 2, 1, 1]
    assert reasons(bundles[1])["news/01.md"] == PUBLISHED


def test_rules_from_config(repo):
    repo.write_config("""
        [schedule]
        max_articles = 5
        [review]
        required = true
        [categories.news]
        max_per_bundle = 2
    """)
    rules = rules_from_config(repo.config)
    assert rules.max_articles == 5 and rules.review_required is True
    assert rules.caps == {"weekly-study": 1, "news": 2}
    assert rules.category_names["fund-supervision"] == "基金监管"
    assert rules.campaigns == DEFAULT_CAMPAIGNS and rules.tz == "Asia/Shanghai"


# --- properties -----------------------------------------------------------------

CATEGORIES = ["weekly-study", "fund-supervision", "policy", "news"]


@st.composite
def scenarios(draw):
    """Random posts (unique paths), a published set, rules and a slot."""
    posts = []
    for i in range(draw(st.integers(0, 25))):
        category = draw(st.sampled_from([*CATEGORIES, None]))
        dated = draw(st.booleans())
        rel = f"{category or 'misc'}/{f'2024-03-{i % 28 + 1:02d}-' if dated else ''}{i}.md"
        offset = st.one_of(st.none(), st.integers(-30, 30).map(lambda d: SLOT + timedelta(days=d)))
        posts.append(post(
            rel, category=category, sha256=f"{i:064x}",
            status=draw(st.sampled_from(["ready", "ready", "ready", "draft"])),
            problems=[Problem(rel, 2, ERROR, "坏")] if draw(st.integers(0, 9)) == 0 else [],
            priority=draw(st.integers(-2, 3)), lead=draw(st.integers(0, 4)) == 0,
            publish_after=draw(offset), expires=draw(offset),
            reviewed_by=draw(st.sampled_from(["", "张三"])), approved_by=draw(st.sampled_from(["", "李四"])),
        ))
    published = {p.rel for p in posts if draw(st.integers(0, 5)) == 0}
    rules = Rules(max_articles=draw(st.integers(1, 10)), review_required=draw(st.booleans()),
                  caps={"weekly-study": 1, "news": draw(st.integers(1, 3))})
    slot = draw(st.sampled_from([SLOT, JUNE, sh("2024-10-01 09:00")]))
    return posts, published, rules, slot


def eligible(p: Post, published: set[str], rules: Rules, slot: datetime) -> bool:
    return bool(p.ok and p.status == "ready" and p.category is not None and p.rel not in published
            and (not rules.review_required or (p.reviewed_by and p.approved_by))
            and (p.publish_after is None or p.publish_after <= slot) and (p.expires is None or slot < p.expires))


@settings(max_examples=300, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_bundle_invariants(scenario, rnd):
    posts, published, rules, slot = scenario
    bundle = choose(posts, published, slot, rules)
    items = bundle.items
    assert len(items) <= min(rules.max_articles, 8)
    for category, cap in rules.caps.items():
        assert sum(p.category == category for p in items) <= cap
    assert len({p.rel for p in items}) == len(items)
    assert all(eligible(p, published, rules, slot) for p in items)
    if any(p.lead and eligible(p, published, rules, slot) for p in posts):
        assert items[0].lead
    seen = [id(p) for p in items] + [id(o.post) for o in bundle.left_out]
    assert sorted(seen) == sorted(id(p) for p in posts)  # each input exactly once
    assert all(o.message_zh for o in bundle.left_out)
    for o in bundle.left_out:  # capacity reasons only for posts that could have gone
        assert (o.reason_code in (CATEGORY_CAP, BUNDLE_FULL)) == eligible(o.post, published, rules, slot)
        assert o.reason_code != BUNDLE_FULL or len(items) == min(rules.max_articles, 8)
    shuffled = posts[:]
    rnd.shuffle(shuffled)
    again = choose(shuffled, published, slot, rules)
    assert again == bundle


@settings(max_examples=300, deadline=None)
@given(scenarios(), st.data())
def test_choosing_again_after_posts_are_found_wrong_is_choosing_afresh(scenario, data):
    """A bundle whose posts turn out wrong when their bodies are checked (or rendered) is chosen
    again from the posts that could have gone: the same bundle, reasons and all, as a new choice."""
    import dataclasses

    posts, published, rules, slot = scenario
    if posts:  # copies of some posts under other paths: the same article, chosen once
        twins = data.draw(st.lists(st.sampled_from(posts), max_size=4, unique_by=id))
        posts = posts + [dataclasses.replace(p, rel=f"copy/{n}-{p.rel}", problems=list(p.problems))
                         for n, p in enumerate(twins)]
    bundle = choose(posts, published, slot, rules)
    while bundle.items:
        wrong = data.draw(st.lists(st.sampled_from(bundle.items), min_size=1, unique_by=id))
        for item in wrong:
            item.report(3, ERROR, "正文有错")
        bundle = choose_again(bundle, published, rules)
        assert bundle == choose(posts, published, slot, rules)


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.integers(1, 5))
def test_forecast_never_publishes_twice(scenario, n):
    posts, published, rules, _ = scenario
    bundles = forecast(posts, published, TUE_FRI, SH, sh("2024-03-30 12:00"), n, rules)
    for bundle in bundles:  # each post in each bundle, taken or with its reason (what `publish plan` lists)
        assert sorted(map(id, [*bundle.items, *(o.post for o in bundle.left_out)])) == sorted(map(id, posts))
    chosen = [p.rel for b in bundles for p in b.items]
    assert len(bundles) == n and len(chosen) == len(set(chosen)) and not set(chosen) & published
    quick = forecast(posts, published, TUE_FRI, SH, sh("2024-03-30 12:00"), n, rules, reasons=False)
    assert [(b.slot, b.items) for b in quick] == [(b.slot, b.items) for b in bundles]  # what the calendar shows
    assert all(not b.left_out for b in quick)


def test_choose_is_deterministic_for_shuffled_input():
    posts = [post(f"{c}/{i}.md", priority=i % 3, lead=i % 4 == 0) for c in CATEGORIES for i in range(6)]
    first = choose(posts, set(), SLOT, RULES)
    for seed in range(5):
        random.Random(seed).shuffle(posts)
        assert choose(posts, set(), SLOT, RULES) == first


# --- the account's time zone, never the server's --------------------------------------------
# README: 账号时区（IANA 名称），推送时间和文章日期都按此时区. Front matter times carry no zone;
# a server set to another zone (here US Pacific, 15 hours behind Beijing) must not move them.

@pytest.fixture
def server_in_another_zone(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_slots_from_a_naive_time_are_the_accounts_wall_clock(server_in_another_zone):
    monday_noon = datetime(2024, 4, 1, 12, 0)  # what `--at "2024-04-01 12:00"` means: Beijing time
    assert next_slots(TUE_FRI, SH, monday_noon, 1) == [sh("2024-04-02 09:00")]
    assert next_slots(TUE_FRI, SH, datetime(2024, 4, 2, 8, 0), 1) == [sh("2024-04-02 09:00")]
    assert slot_times(TUE_FRI, SH, datetime(2024, 4, 4, 12, 0), datetime(2024, 4, 5, 8, 59)) == []
    assert slot_times(TUE_FRI, SH, monday_noon, datetime(2024, 4, 2, 9, 1)) == [sh("2024-04-02 09:00")]
    assert slot_times(TUE_FRI, SH, datetime(2024, 4, 2, 8, 0), datetime(2024, 4, 2, 9, 1)) == [sh("2024-04-02 09:00")]
    assert previous_slot(TUE_FRI, SH, datetime(2024, 4, 2, 8, 59)) == sh("2024-03-29 09:00")
    assert due(TUE_FRI, SH, datetime(2024, 4, 2, 9, 5), 6) == Due(sh("2024-04-02 09:00"), ON_TIME)
    assert due(TUE_FRI, SH, datetime(2024, 4, 2, 16, 0), 6) is None  # seven hours late: beyond catch-up
    assert overdue(TUE_FRI, SH, datetime(2024, 3, 29, 10, 0), datetime(2024, 4, 2, 10, 0), 6) == [
        (sh("2024-04-02 09:00"), LATE)]
    assert overdue(TUE_FRI, SH, datetime(2024, 3, 29, 8, 0), datetime(2024, 4, 2, 8, 0), 6) == [
        (sh("2024-03-29 09:00"), MISSED)]


def test_publish_after_and_expires_are_beijing_time_on_any_server(server_in_another_zone):
    posts = [post("news/opens-0830.md", publish_after=datetime(2024, 4, 2, 8, 30)),
             post("news/opens-0930.md", publish_after=datetime(2024, 4, 2, 9, 30)),
             post("news/ended-0830.md", expires=datetime(2024, 4, 2, 8, 30)),
             post("news/ends-0930.md", expires=datetime(2024, 4, 2, 9, 30))]
    bundle = choose(posts, set(), SLOT, RULES)
    assert sorted(rels(bundle.items)) == ["news/ends-0930.md", "news/opens-0830.md"]
    assert reasons(bundle) == {"news/opens-0930.md": NOT_YET, "news/ended-0830.md": EXPIRED}
    naive_slot = choose(posts, set(), datetime(2024, 4, 2, 9, 0), Rules(tz="Asia/Shanghai"))
    assert reasons(naive_slot) == reasons(bundle)


def test_older_posts_go_first_by_beijing_dates_on_any_server(server_in_another_zone):
    posts = [
        post("news/2024-03-02-named.md"),                                      # 2 March 00:00
        post("news/evening-before.md", publish_after=datetime(2024, 3, 1, 20, 0)),  # 1 March 20:00
        post("news/morning.md", publish_after=datetime(2024, 3, 2, 10, 0)),          # 2 March 10:00
        post("news/aware-8am.md", publish_after=datetime(2024, 3, 2, 8, 0, tzinfo=SH)),
    ]
    assert rels(choose(posts, set(), SLOT, RULES).items) == [
        "news/evening-before.md", "news/2024-03-02-named.md", "news/aware-8am.md", "news/morning.md"]


# --- what README promises about bundles, in its own numbers ------------------------------------

def test_the_campaign_weight_is_10_unless_configured():
    # README: 活动月份里这些分类的文章 priority 加上此数（默认 10）. April is 基金监管集中宣传月.
    older_news = post("news/2024-03-01-news.md", priority=10)
    fund = post("fund-supervision/2024-03-05-fund.md")
    assert rels(choose([fund, older_news], set(), SLOT).items) == [older_news.rel, fund.rel]  # 10 = 0 + 10: age
    nine = post("news/2024-03-01-news.md", priority=9)
    assert rels(choose([nine, fund], set(), SLOT).items) == [fund.rel, nine.rel]


def test_configured_campaigns_replace_the_default_ones(repo):
    # README: 在配置里写了 [[campaigns]] 就以配置为准 — April's 基金监管 campaign no longer applies.
    repo.write_config("""
        [[campaigns]]
        name = "新闻月"
        months = [4]
        categories = ["news"]
        weight = 5
    """)
    rules = rules_from_config(repo.config)
    posts = [post("news/2024-03-09-news.md"), post("policy/2024-03-01-policy.md", priority=3),
             post("services/2024-03-01-services.md", priority=7), post("fund-supervision/2024-03-01-fund.md")]
    assert rels(choose(posts, set(), SLOT, rules).items) == [  # 7, 0 + 5, 3, 0
        "services/2024-03-01-services.md", "news/2024-03-09-news.md", "policy/2024-03-01-policy.md",
        "fund-supervision/2024-03-01-fund.md"]


def test_a_category_limit_of_two_lets_exactly_two_through():
    # README: [categories.<key>].max_per_bundle — 每次推送中该分类最多几篇.
    posts = [post(f"custom/2024-03-0{i}-x.md") for i in range(1, 5)] + [post("news/2024-03-09-n.md")]
    bundle = choose(posts, set(), SLOT, Rules(caps={"custom": 2}))
    assert rels(bundle.items) == ["custom/2024-03-01-x.md", "custom/2024-03-02-x.md", "news/2024-03-09-n.md"]
    assert message(bundle, "custom/2024-03-03-x.md") == "本次推送“custom”已有 2 篇（每次最多 2 篇），留待下次"


def test_a_copy_under_another_name_is_never_pushed_in_a_later_slot():
    # README: 每篇文章最多发布一次 — the same content under two file names included.
    posts = [post("news/a.md", sha256="c" * 64), post("policy/a-copy.md", sha256="c" * 64)] + [
        post(f"news/{i:02d}.md") for i in range(3)]
    bundles = forecast(posts, set(), TUE_FRI, SH, sh("2024-04-01 12:00"), 3, RULES)
    chosen = [p.rel for b in bundles for p in b.items]
    assert len([r for r in chosen if r in ("news/a.md", "policy/a-copy.md")]) == 1
    assert "news/a.md" in message(bundles[0], "policy/a-copy.md") or "policy/a-copy.md" in message(
        bundles[0], "news/a.md")


@pytest.mark.parametrize("fields, words", [
    ({"status": "draft"}, "草稿（status 不是 ready），不会发布；改为 status: ready 才会发布"),
    ({"category": None}, "没有分类，无法发布；请放入分类文件夹或写 category 字段"),
    ({"publish_after": sh("2024-04-02 09:01")}, "未到发布时间：2024-04-02 09:01 之后才发布"),
    ({"expires": sh("2024-04-02 09:00")}, "已过期：2024-04-02 09:00 起不再发布"),
    ({"reviewed_by": " ", "approved_by": None}, "未完成审核签发：缺少 reviewed_by（审核）、approved_by（签发）"),
    ({"approved_by": ""}, "未完成审核签发：缺少 approved_by（签发）"),
    ({"reviewed_by": None}, "未完成审核签发：缺少 reviewed_by（审核）"),
])
def test_the_reason_an_editor_reads_for_a_post_left_out(fields, words):
    signed = {"reviewed_by": "张三", "approved_by": "李四", **fields}
    bundle = choose([post("news/x.md", **signed)], set(), SLOT, Rules(review_required=True))
    assert message(bundle, "news/x.md") == words


def test_the_reason_for_a_post_already_published_and_for_a_twin():
    published = choose([post("news/x.md")], {"news/x.md"}, SLOT)
    assert message(published, "news/x.md") == "已发布过，不再重复推送"
    twins = choose([post("news/a.md", sha256="d" * 64), post("news/b.md", sha256="d" * 64)], set(), SLOT)
    [left] = twins.left_out
    other = ({"news/a.md", "news/b.md"} - {left.post.rel}).pop()
    assert left.message_zh == f"与 {other} 是同一篇，同一次推送只发一次"


def test_configuration_mistakes_are_explained():
    with pytest.raises(ValueError, match=r"^没有配置推送时间（\[schedule\]\.slots 为空）$"):
        previous_slot((), SH, SLOT)
    with pytest.raises(ValueError, match=r"^slot 须带时区（或在 Rules\.tz 中给出账号时区）$"):
        choose([], set(), datetime(2024, 4, 2, 9, 0), Rules())


def test_the_busiest_month_ahead_is_named_with_its_count_in_the_accounts_zone():
    # README: a service account's followers get at most 4 mass sends a month, so check/plan/status
    # warn naming the busiest month ahead and how many slots it has.
    sh = ZoneInfo("Asia/Shanghai")
    june = datetime(2024, 5, 31, 16, 0, tzinfo=UTC)  # 1 June 00:00 in Beijing
    assert busiest_month_ahead(TUE_FRI, "Asia/Shanghai", june, months=2) == ("2024年7月", 9)  # June has 8
    assert busiest_month_ahead(TUE_FRI, sh, datetime(2024, 4, 1, tzinfo=sh)) == ("2024年4月", 9)  # first of equals
    # 00:30 on Wednesday 1 May in Beijing is still 30 April in UTC: it counts for May, as the account sees it.
    wednesday_night = (Slot(2, 0, 30),)
    assert busiest_month_ahead(wednesday_night, sh, datetime(2024, 4, 1, tzinfo=sh), months=1) == ("2024年4月", 4)
    assert busiest_month_ahead((), sh, datetime(2024, 4, 1, tzinfo=sh)) == ("", 0)
