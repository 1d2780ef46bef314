"""Monotone recalibration of match probabilities (`linkage.calibration`)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from jikimi.linkage import calibration
from jikimi.linkage.models import ReviewItem, ReviewStatus
from jikimi.people import services as people


def _under_confident(n: int, seed: int) -> tuple[list[float], list[bool]]:
    """Scores whose true rate is higher than they say: truth = p ** 0.5."""
    rng = random.Random(seed)
    scores = [rng.random() for _ in range(n)]
    return scores, [rng.random() < s**0.5 for s in scores]


def test_it_corrects_an_under_confident_score_on_pairs_it_was_not_fitted_on():
    fitted = calibration.fit(*_under_confident(20000, 1))
    scores, truth = _under_confident(20000, 2)
    before = calibration.expected_calibration_error(scores, truth)
    after = calibration.expected_calibration_error(fitted.apply(scores), truth)
    assert before > 0.1
    assert after < 0.03
    # 0.25 is right half of the time (0.25 ** 0.5).
    assert abs(float(fitted.apply([0.25])[0]) - 0.5) < 0.05


def test_it_keeps_the_order_of_the_pairs_and_the_raw_score_outside_its_range():
    fitted = calibration.fit(
        [0.4] * 30 + [0.6] * 30, [False] * 20 + [True] * 10 + [True] * 25 + [False] * 5
    )
    grid = np.linspace(0.001, 0.999, 200)
    mapped = fitted.apply(grid)
    assert np.all(np.diff(mapped) >= 0)
    # Fitted between 0.4 and 0.6 only: far below and far above it keeps the raw score.
    assert float(fitted.apply([0.01])[0]) == pytest.approx(0.01)
    assert float(fitted.apply([0.99])[0]) == pytest.approx(0.99)
    again = calibration.Calibration.from_json(fitted.to_json())
    assert again is not None
    assert np.allclose(again.apply(grid), mapped, atol=1e-5)


def test_it_pools_a_decreasing_run_into_one_step():
    fitted = calibration.fit(
        [0.2] * 20 + [0.3] * 20 + [0.4] * 20,
        [True] * 15 + [False] * 5 + [True] * 5 + [False] * 15 + [True] * 20,
    )
    assert list(fitted.probabilities) == sorted(fitted.probabilities)
    assert len(fitted.probabilities) == 2  # 0.75 then 0.25 pool to 0.5, then 1.0


def test_the_reliability_curve_counts_every_pair_once():
    scores, truth = _under_confident(1000, 3)
    curve = calibration.reliability(scores + [1.0, 0.0], truth + [True, False])
    assert sum(b["pairs"] for b in curve) == 1002


@pytest.mark.django_db
def test_it_fits_on_the_review_queue_only_once_there_are_enough_decisions(staff):
    user = staff["caseworker"]
    persons = [people.create_person(user, name=f"김철수{i}") for i in range(22)]
    pairs = [(a, b) for i, a in enumerate(persons) for b in persons[i + 1 :]][:210]
    rng = random.Random(4)
    items = []
    for k, (a, b) in enumerate(pairs):
        score = 0.3 + 0.4 * rng.random()
        status = ReviewStatus.CONFIRMED if rng.random() < score**0.5 else ReviewStatus.REJECTED
        if k >= 200:
            status = ReviewStatus.PENDING
        items.append(ReviewItem(person_a=a, person_b=b, score=score, status=status))
    ReviewItem.objects.bulk_create(items[:199])
    assert calibration.fit_from_reviews() == (None, 199)
    ReviewItem.objects.bulk_create(items[199:])
    fitted, decisions = calibration.fit_from_reviews()
    assert fitted is not None and fitted.pairs == decisions == 200  # not the pending ones
    # Under-confident reviewed scores are raised: 0.5 was right about 0.7 of the time.
    assert float(fitted.apply([0.5])[0]) > 0.55


def _decided(user, n: int, seed: int) -> None:
    """`n` decided review items between people of `user`'s organisation, under-confident."""
    persons = [people.create_person(user, name=f"박영희{i}") for i in range(22)]
    pairs = [(a, b) for i, a in enumerate(persons) for b in persons[i + 1 :]][:n]
    rng = random.Random(seed)
    items = []
    for a, b in pairs:
        score = 0.3 + 0.4 * rng.random()
        status = ReviewStatus.CONFIRMED if rng.random() < score**0.5 else ReviewStatus.REJECTED
        items.append(ReviewItem(person_a=a, person_b=b, score=score, status=status))
    ReviewItem.objects.bulk_create(items)


@pytest.mark.django_db
def test_the_pair_page_shows_the_score_calibrated_on_the_organisations_own_decisions(
    client, login, staff
):
    """Beside the raw probability, the page gives it recalibrated on the reviewer's own
    organisation's decisions, once there are 200; another organisation's 200 decisions
    change nothing for this one."""
    from django.urls import reverse

    from jikimi.linkage import review

    alpha, beta = staff["caseworker"], staff["outsider"]
    _decided(beta, 200, seed=5)
    pending = ReviewItem.objects.create(
        person_a=people.create_person(alpha, name="김영수", birth_year=1970),
        person_b=people.create_person(alpha, name="Kim Yong Su", birth_year=1970),
        score=0.5,
    )
    login(client, alpha)
    url = reverse("linkage:review_detail", args=[pending.pk])
    body = client.get(url).content.decode()
    assert 'class="calibrated"' not in body  # beta's decisions are beta's
    assert review.calibration_for(alpha) == (None, 0)
    _decided(alpha, 200, seed=6)
    fitted, decisions = review.calibration_for(alpha)
    assert fitted is not None and decisions == 200
    body = client.get(url).content.decode()
    assert 'class="calibrated"' in body and "200" in body
    client.cookies["django_language"] = "ko"
    body = client.get(url, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "검토 결정" in body  # translated
