"""Properties of the campaign rules that hold for any numbers: spend-back within every cap, a
lottery draw that depends on nothing but the seed and the application ids, ages by the register."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from campaigns.domain import Application, ResidentRecord, SpendBack, draw, ranking

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@st.composite
def spend_backs(draw_from: st.DrawFn) -> SpendBack:
    return SpendBack(
        rate_basis_points=draw_from(st.integers(1, 10_000)),
        per_payment_cap=draw_from(st.integers(1, 50_000)),
        per_person_cap=draw_from(st.integers(1, 200_000)),
        budget=draw_from(st.integers(1, 500_000)),
        earn_from=NOW,
        earn_until=NOW + timedelta(days=30),
        valid_until=NOW + timedelta(days=90),
    )


@given(
    terms=spend_backs(),
    payments=st.lists(st.tuples(st.integers(0, 4), st.integers(1, 1_000_000)), max_size=60),
)
def test_spend_back_never_exceeds_a_cap_and_pays_the_rate_where_no_cap_binds(
    terms: SpendBack, payments: list[tuple[int, int]]
) -> None:
    earned: defaultdict[int, int] = defaultdict(int)
    budget_left = terms.budget
    for person, amount in payments:
        points = terms.reward(amount, earned[person], budget_left)
        assert 0 <= points <= min(terms.per_payment_cap, amount * terms.rate_basis_points // 10_000)
        caps = (terms.per_payment_cap, terms.per_person_cap - earned[person], budget_left)
        if points < amount * terms.rate_basis_points // 10_000:
            assert points in caps  # cut short only by a cap that binds
        earned[person] += points
        budget_left -= points
        assert earned[person] <= terms.per_person_cap
        assert budget_left >= 0
    assert sum(earned.values()) == terms.budget - budget_left


applications = st.dictionaries(
    st.text("abcdef0123456789", min_size=4, max_size=8).map(lambda s: f"ap-{s}"),
    st.integers(1, 3),
    max_size=40,
).map(lambda asked: [Application(i, f"w-{i}", sets) for i, sets in asked.items()])


@given(
    seed=st.text(min_size=1, max_size=40),
    apps=applications,
    sets=st.integers(0, 150),
    order=st.randoms(),
)
def test_a_draw_grants_down_the_ranking_whatever_order_the_applications_come_in(
    seed: str, apps: list[Application], sets: int, order: random.Random
) -> None:
    outcome = draw(seed, apps, sets)
    shuffled = list(apps)
    order.shuffle(shuffled)
    assert draw(seed, shuffled, sets) == outcome
    asked = {a.id: a.sets for a in apps}
    granted = [g.sets for g in outcome.grants]
    assert sum(granted) == min(sets, sum(asked.values()))
    assert [g.application_id for g in outcome.grants] == ranking(seed, asked)[: len(granted)]
    # Everyone granted gets what they asked for, except perhaps the last, who gets what was left.
    assert all(g.sets == asked[g.application_id] for g in outcome.grants[:-1])
    assert all(0 < g.sets <= asked[g.application_id] for g in outcome.grants)
    assert outcome.next_position == len(outcome.grants)


@given(
    seed=st.text(min_size=1, max_size=40),
    apps=applications,
    first=st.integers(0, 60),
    second=st.integers(0, 60),
)
def test_a_second_round_goes_on_where_the_first_stopped(
    seed: str, apps: list[Application], first: int, second: int
) -> None:
    one = draw(seed, apps, first)
    two = draw(seed, apps, second, start=one.next_position)
    ids = [g.application_id for g in one.grants + two.grants]
    assert len(ids) == len(set(ids))
    assert ids == ranking(seed, [a.id for a in apps])[: len(ids)]
    assert two.next_position == one.next_position + len(two.grants)


@given(born=st.dates(date(1900, 1, 1), date(2025, 12, 31)), years=st.integers(0, 100))
def test_a_person_is_n_on_the_nth_birthday_and_n_minus_1_the_day_before(
    born: date, years: int
) -> None:
    record = ResidentRecord("s", "h", "d", born)
    try:
        birthday = born.replace(year=born.year + years)
    except ValueError:  # born on 29 February: the birthday of a common year is 1 March
        birthday = date(born.year + years, 3, 1)
    assert record.age_on(birthday) == years
    if years:
        assert record.age_on(birthday - timedelta(days=1)) == years - 1
