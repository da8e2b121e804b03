"""The phrasing guard rejects invented numbers, wrong directions, swapped segments and unknown names, and accepts
faithful rewordings with the roundings people use."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from insights.findings import Finding
from insights.phrasing import statement
from insights.phrasing_guard import Vocabulary, check_text, vocabulary

VOCAB = Vocabulary(
    columns=frozenset({"user_id", "event_time", "event", "revenue", "variant", "country", "device", "channel",
                       "plan"}),
    values={"device": frozenset({"desktop", "mobile", "tablet"}),
            "channel": frozenset({"email", "organic", "paid_search", "paid_social", "referral"}),
            "country": frozenset({"US", "DE", "FR"}),
            "plan": frozenset({"free", "plus"}),
            "variant": frozenset({"control", "treatment"})},
    variant="variant",
    events=frozenset({"session_start", "view_item", "search", "add_to_cart", "purchase"}),
    docs=("Smart search",),
)


def _finding(**kw: object) -> Finding:
    base: dict[str, object] = dict(
        kind="segment", metric="purchase", metric_label="purchase conversion", dimension="channel",
        value="paid_social", direction="lower", subject_mean=0.07602, baseline_mean=0.12639, effect=-0.05037,
        rel_effect=-0.05037 / 0.12639, ci_low=-0.0560, ci_high=-0.0447, p_value=3.1e-46, n_units=10392,
        n_baseline=39608, test="two-proportion z-test", sql="SELECT 1", chart=None, key="segment:channel",
        p_value_adjusted=5.1e-45,
    )
    base.update(kw)
    f = Finding(**base)  # type: ignore[arg-type]
    return Finding(**{**base, "statement": statement(f, "users")})  # type: ignore[arg-type]


SEGMENT = _finding()
EXPERIMENT = _finding(
    kind="experiment_effect", dimension="device", value="mobile", direction="higher", subject_mean=0.1406,
    baseline_mean=0.1138, effect=0.0268, rel_effect=0.0268 / 0.1138, ci_low=0.0158, ci_high=0.0378,
    p_value=1.84e-6, p_value_adjusted=1.19e-5, n_units=7027, n_baseline=6990, subject="Treatment against control",
    key="experiment:device:mobile",
)
REVENUE = _finding(
    kind="distribution", metric="mean:revenue", metric_label="average revenue", dimension="country", value="DE",
    direction="higher", subject_mean=48.1, baseline_mean=38.11, effect=9.99, rel_effect=9.99 / 38.11,
    ci_low=math.nan, ci_high=math.nan, test="Mann-Whitney U", p_value=8.7e-20, p_value_adjusted=9.4e-19,
    n_units=659, n_baseline=5400, details=(("mean_shift", 12.1), ("prob_greater", 0.609)), key="dist:country",
)
LAUNCH = _finding(
    kind="launch_change", metric="search", metric_label="search conversion", dimension=None, value=None,
    direction="higher", subject_mean=0.5406, baseline_mean=0.3830, effect=0.1576, rel_effect=0.1576 / 0.3830,
    subject="Smart search (2026-09-21)", caveat="This compares units active in the 13 days before and after "
    "2026-09-21; it is not an experiment.", n_units=24561, n_baseline=23000, key="launch:search",
)


def ok(text: str, f: Finding = SEGMENT) -> None:
    assert check_text(text, f, VOCAB) == [], text


def rejected(text: str, f: Finding, *words: str) -> None:
    reasons = check_text(text, f, VOCAB)
    assert reasons, f"accepted: {text}"
    joined = " ".join(reasons)
    for w in words:
        assert w in joined, joined


@pytest.mark.parametrize("f", [SEGMENT, EXPERIMENT, REVENUE, LAUNCH])
def test_template_statement_passes_its_own_guard(f: Finding) -> None:
    ok(f.statement, f)


@pytest.mark.parametrize("text", [
    "Paid social users convert at 7.6% versus 12.6% for everyone else, 5.04 points lower.",
    "Users from paid_social purchase less often: 7.60% against 12.64% (a 40% relative drop).",
    "Conversion for paid social is about 8% compared with 13% elsewhere; p < 0.001 after adjustment.",
    "Paid social buyers lag: -5.0 pp (-39.9%), across 10,392 users.",
    "Over 10,000 paid_social users convert 5 percentage points less, a rate of 0.076 against 0.126.",
    "The 10.4k users who came through paid social convert worse: 7.6 percent.",
    "The rest convert 1.7x as often as paid social users (12.6% vs 7.6%).",
    "Paid social users make up 10,392 of 50,000 users and convert lower (95% CI -5.6 to -4.5 points).",
])
def test_correct_rewordings_with_various_roundings_pass(text: str) -> None:
    ok(text)


@pytest.mark.parametrize("text,f", [
    ("On mobile, the treatment lifts purchase conversion from 11.4% to 14.1% (+2.68 points, +23.6%).", EXPERIMENT),
    ("Treatment beats control for mobile users by 2.7 points, 95% CI 1.6 to 3.8 points, p = 1.8e-06.", EXPERIMENT),
    ("German users (country = DE) spend more: median 48.1 against 38.1, and 61% of comparisons favour them.",
     REVENUE),
    ("DE shoppers' average revenue is higher by $12.1 on average, a 26% higher median.", REVENUE),
    ("Since Smart search launched on 2026-09-21, search conversion rose from 38.3% to 54.1% in the 13 days "
     "after.", LAUNCH),
])
def test_correct_rewordings_of_other_kinds_pass(text: str, f: Finding) -> None:
    ok(text, f)


@pytest.mark.parametrize("text", [
    "Paid social users convert at 7.6% versus 14.6% for everyone else.",  # invented baseline
    "Paid social users convert at 7.5% versus 12.6% for the rest.",  # wrong rounding of 7.602
    "Paid social users are 5.04% less likely to purchase.",  # points written as percent
    "Paid social conversion is 40 points lower.",  # relative change written as points
    "Paid social users convert lower (12,000 users).",  # invented count
    "Paid social users convert +5.04 points lower than the rest.",  # wrong sign
    "Paid social converts lower, p = 0.03.",  # invented p-value
    "Paid social converts 3x worse than the rest.",  # invented ratio
])
def test_invented_or_misrounded_numbers_are_caught(text: str) -> None:
    rejected(text, SEGMENT, "number")


@pytest.mark.parametrize("text,f", [
    ("Paid social increased purchase conversion to 7.6% against 12.6%.", SEGMENT),
    ("Paid social users convert more often: 7.6% vs 12.6%.", SEGMENT),
    ("On mobile, the treatment cut purchase conversion from 11.4% to 14.1%.", EXPERIMENT),
    ("After Smart search, search conversion fell from 38.3% to 54.1%.", LAUNCH),
])
def test_wrong_direction_is_caught(text: str, f: Finding) -> None:
    rejected(text, f, "finding is")


def test_common_words_that_are_values_of_other_columns_are_not_names() -> None:
    ok("Paid social users convert lower, plus they are 10,392 users: free money left on the table.")


def test_comparator_phrases_are_not_direction_words() -> None:
    ok("More than 10,000 paid social users convert at only 7.6%, lower than the 12.6% of the rest.")


@pytest.mark.parametrize("text,f,word", [
    ("Desktop users in the treatment convert 2.7 points more.", EXPERIMENT, "desktop"),
    ("Paid search users convert at 7.6% against 12.6% for the rest.", SEGMENT, "paid_search"),
    ("Tablet users from paid_social convert lower.", SEGMENT, "tablet"),
    ("Paid social users in DE convert lower.", SEGMENT, "DE"),
])
def test_swapped_or_added_segments_are_caught(text: str, f: Finding, word: str) -> None:
    rejected(text, f, word)


@pytest.mark.parametrize("text,word", [
    ("Users with channel = tiktok convert lower.", "tiktok"),
    ("Users from paid_video convert lower.", "paid_video"),
    ("The `checkout_v2` variant explains the gap.", "checkout_v2"),
    ("Paid social users add_to_cart less.", "add_to_cart"),
    ("Users in FR convert lower.", "FR"),
])
def test_unknown_or_unrelated_names_are_caught(text: str, word: str) -> None:
    rejected(text, SEGMENT, word)


def test_both_ends_of_a_range_are_checked() -> None:
    ok("Treatment wins for mobile users by 2.7 points (95% CI 1.6-3.8 points).", EXPERIMENT)
    rejected("Treatment wins for mobile users by 2.7 points (95% CI 1.6-4.8 points).", EXPERIMENT, "4.8")


def test_dates_that_the_finding_does_not_quote_are_caught() -> None:
    rejected("Since Smart search launched on 2026-09-14, search conversion rose.", LAUNCH, "number")


def test_vocabulary_reads_names_from_the_data(make_dataset) -> None:
    frame = pd.DataFrame({"user_id": ["a", "b", "c", "d"], "device": ["mobile", "desktop", "mobile", None],
                          "variant": ["control", "treatment", "control", "treatment"], "converted": [1, 0, 1, 0]})
    ds = make_dataset(frame, variant="variant", dimensions=("device",))
    vocab = vocabulary(ds, docs=("Doc",))
    assert vocab.values["device"] == {"mobile", "desktop"}
    assert vocab.values["variant"] == {"control", "treatment"}
    assert vocab.variant == "variant" and "converted" in vocab.columns and vocab.docs == ("Doc",)
