"""Tariffs and fees: what a session costs, as exact decimals rounded once at the end.

A tariff has free minutes at the start, a price per *started* period after that, and an
optional cap per 24 hours. Whole 24-hour blocks after the free time cost the capped day
price each; the rest is charged by started periods, capped again.
"""

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from loaders.base import Reads
from storage.enums import SessionKind
from storage.models import Tariff
from storage.records import Money, SessionRow, minor_digits

DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class TariffRecord:
    """The price list of one location or fleet."""

    currency: str
    free_minutes: int
    period_minutes: int
    price_per_period: Decimal
    daily_cap: Decimal | None = None


def _capped(amount: Decimal, cap: Decimal | None) -> Decimal:
    return amount if cap is None else min(amount, cap)


def compute_fee(tariff: TariffRecord, duration: timedelta) -> Money:
    """The fee for a session of ``duration``, rounded half-up to the currency's minor unit."""
    if duration < timedelta(0):
        raise ValueError(f"duration {duration} is negative")
    billable = max(timedelta(0), duration - timedelta(minutes=tariff.free_minutes))
    period = timedelta(minutes=tariff.period_minutes)
    full_days, rest = divmod(billable, DAY)
    day_price = _capped(math.ceil(DAY / period) * tariff.price_per_period, tariff.daily_cap)
    rest_price = _capped(math.ceil(rest / period) * tariff.price_per_period, tariff.daily_cap)
    total = full_days * day_price + rest_price
    quantum = Decimal(1).scaleb(-minor_digits(tariff.currency))
    return Money(tariff.currency, total.quantize(quantum, rounding=ROUND_HALF_UP))


def to_minor(money: Money) -> int:
    """The amount in integer minor units, as the sessions table stores it."""
    return int(money.value.scaleb(minor_digits(money.currency)))


async def tariff_for(reads: Reads, session: SessionRow) -> TariffRecord | None:
    """The tariff of the session's location (parking) or fleet (rental), if it has one."""
    owner: uuid.UUID | None
    if session.kind == SessionKind.PARKING:
        condition, owner = Tariff.location_id, session.storage_location_id
    else:
        condition, owner = Tariff.fleet_id, session.rental_fleet_id
    statement = select(
        Tariff.currency,
        Tariff.free_minutes,
        Tariff.period_minutes,
        Tariff.price_per_period,
        Tariff.daily_cap,
    ).where(condition == owner)
    rows = await reads.rows(statement)
    return TariffRecord(*rows[0]) if rows else None


def session_duration(start: datetime, end: datetime) -> timedelta:
    """How long a session ran, never negative."""
    return max(end - start, timedelta(0))
