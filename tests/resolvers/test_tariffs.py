"""Fees on known cases: the free period, exact period boundaries, several days, the cap."""

from datetime import timedelta
from decimal import Decimal

import pytest

from resolvers.tariffs import TariffRecord, compute_fee, to_minor

HOURLY = TariffRecord("EUR", free_minutes=15, period_minutes=60, price_per_period=Decimal("1.50"),
                      daily_cap=Decimal("10.00"))  # fmt: skip
PER_MINUTE = TariffRecord("EUR", free_minutes=0, period_minutes=1,
                          price_per_period=Decimal("0.125"))  # fmt: skip


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (timedelta(0), "0.00"),
        (timedelta(minutes=15), "0.00"),  # exactly the free period
        (timedelta(minutes=15, seconds=1), "1.50"),  # one second into the first period
        (timedelta(minutes=75), "1.50"),  # exactly one period after the free time
        (timedelta(minutes=75, seconds=1), "3.00"),  # a started second period
        (timedelta(hours=8), "10.00"),  # 8 started hours would be 12.00: capped at 10
        (timedelta(days=1, minutes=15), "10.00"),  # one full day after the free time
        (timedelta(days=3, minutes=15, hours=1), "31.50"),  # three capped days and an hour
    ],
)
def test_hourly_tariff_with_free_minutes_and_a_daily_cap(duration, expected):
    assert compute_fee(HOURLY, duration).value == Decimal(expected)


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [(1, "0.13"), (2, "0.25"), (3, "0.38"), (5, "0.63")],  # 0.125 steps round half up
)
def test_fees_round_half_up_to_the_minor_unit(minutes, expected):
    fee = compute_fee(PER_MINUTE, timedelta(minutes=minutes))
    assert str(fee.value) == expected


def test_zero_decimal_currencies_round_to_whole_units():
    yen = TariffRecord("JPY", free_minutes=0, period_minutes=30, price_per_period=Decimal("150.5"))
    fee = compute_fee(yen, timedelta(minutes=31))
    assert str(fee.value) == "301"
    assert to_minor(fee) == 301


def test_minor_units_of_a_fee():
    assert to_minor(compute_fee(HOURLY, timedelta(minutes=80))) == 300


def test_a_negative_duration_is_refused():
    with pytest.raises(ValueError, match="negative"):
        compute_fee(HOURLY, timedelta(seconds=-1))
