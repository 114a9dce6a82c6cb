"""The catalog of one demo batch: locations, fleets, tariffs, devices, users, and their plans."""

import random
import uuid
from bisect import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from storage.demo.clock import DAY, HISTORY_START, HOUR, NOW_SECONDS, TimeFormat
from storage.demo.rows import Row
from storage.demo.vocabulary import (
    ACTIVE,
    BOOKED,
    BRANDS,
    CITIES,
    DEVICE_LABELS,
    ENDED,
    FACILITIES,
    FLEET_CITY_ORDER,
    PARKING_KIND_WEIGHTS,
    PARKING_KINDS,
    PARKING_PRICE,
    RENTAL_KIND_WEIGHTS,
    RENTAL_KINDS,
    RENTAL_PRICE,
    City,
)
from storage.records import Money

SESSIONS_PER_DEVICE = 40
MIN_DEVICES = 30
SESSIONS_PER_USER = 20
MIN_USERS = 20

_V4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_V4_SET = (0x8000 << 48) | (4 << 76)


@dataclass(frozen=True, slots=True)
class Existing:
    """What earlier batches left: names a new batch must not repeat, devices it numbers after."""

    location_names: set[str]
    fleet_names: set[str]
    devices: int


@dataclass(slots=True)
class Device:
    """A device of the batch: its place, its planned timeline, and how far the sessions got."""

    id: str
    kind: str
    name: str
    parking: bool
    city: City
    created: int
    location: int | None = None  # parking devices: index of their location
    fleet: int | None = None  # rental devices: index of their fleet
    first: int = 0  # start of the device's timeline
    span: int = 0  # length of the timeline, ending at NOW
    count: int = 0  # sessions on the timeline
    latest_status: str = ENDED  # status of the last session on the timeline
    next_slot: int = 0
    position: str | None = None  # rental devices: where the last ride ended


def pick(rng: random.Random, cumulative: Sequence[float]) -> int:
    """Index of a weighted choice, given the running totals of the weights."""
    return bisect(cumulative, rng.random() * cumulative[-1])


def _unique(name: str, taken: set[str]) -> str:
    """``name``, numbered if it is taken already; the result is taken from then on."""
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name} {number}"
    taken.add(candidate)
    return candidate


def _allocate(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` by largest remainder: exact and stable."""
    scale = total / sum(weights)
    quotas = [weight * scale for weight in weights]
    counts = [int(quota) for quota in quotas]
    by_remainder = sorted(range(len(weights)), key=lambda i: (counts[i] - quotas[i], i))
    for index in by_remainder[: total - sum(counts)]:
        counts[index] += 1
    return counts


def _tariff(
    owner: str, column: str, currency: str, free: int, period: int, price: int, cap: int
) -> dict[str, Any]:
    owner_id = uuid.UUID(hex=str(owner).replace("-", ""))
    return {
        "id": uuid.uuid5(owner_id, "tariff"),
        "location_id": owner_id if column == "location_id" else None,
        "fleet_id": owner_id if column == "fleet_id" else None,
        "currency": currency,
        "free_minutes": free,
        "period_minutes": period,
        "price_per_period": Money.from_minor(price, currency).value,
        "daily_cap": Money.from_minor(cap, currency).value,
    }


class Catalog:
    """One batch's places, fleets, devices and users, and each device's planned timeline.

    Every random choice comes from one ``random.Random`` consumed in a fixed order, so a
    batch depends only on its seed and size. The catalog is made first, then
    ``SessionTimelines`` goes on drawing from the same ``random.Random``.
    """

    def __init__(
        self, rng: random.Random, sessions: int, existing: Existing, time_format: TimeFormat
    ) -> None:
        self.rng = rng
        self.sessions = sessions
        self.time_format = time_format
        self.location_rows: list[Row] = []
        self.fleet_rows: list[Row] = []
        self.device_rows: list[Row] = []
        self.new_id = self._id_factory()

        devices = max(MIN_DEVICES, sessions // SESSIONS_PER_DEVICE)
        parking_devices = round(devices * 0.6)
        self._make_locations(max(8, parking_devices // 30), set(existing.location_names))
        self._make_fleets(min(10, 3 + sessions // 100_000), set(existing.fleet_names))
        self.parking_devices = self._make_parking_devices(parking_devices)
        self.rental_devices = self._make_rental_devices(
            devices - parking_devices, existing.devices + parking_devices
        )
        self._make_users(max(MIN_USERS, sessions // SESSIONS_PER_USER))

        parking = round(sessions * 0.6)
        pending = max(2, round(sessions * 0.015)) if sessions >= 20 else 0
        self.pending_parking = pending // 2
        self.pending_rental = pending - self.pending_parking
        self._plan(self.parking_devices, parking - self.pending_parking)
        self._plan(self.rental_devices, sessions - parking - self.pending_rental)
        for device in self.parking_devices + self.rental_devices:
            location = None if device.location is None else self.location_rows[device.location][0]
            fleet = None if device.fleet is None else self.fleet_rows[device.fleet][0]
            self.device_rows.append(
                (device.id, device.kind, device.name, location, fleet, time_format(device.created))
            )

    # -- ids, places, fleets, devices, users

    def _id_factory(self) -> Callable[[], str]:
        bits = self.rng.getrandbits

        def new_id() -> str:
            # The same value as uuid.UUID(int=bits(128), version=4).hex.
            return f"{(bits(128) & _V4_CLEAR) | _V4_SET:032x}"

        return new_id

    def _seconds(self, low_days: float, high_days: float) -> int:
        return int((low_days + self.rng.random() * (high_days - low_days)) * DAY)

    def _make_locations(self, count: int, taken: set[str]) -> None:
        rng = self.rng
        weights = list(accumulate(city.weight for city in CITIES))
        self.location_cities: list[City] = []
        self.location_created: list[int] = []
        self.location_devices: list[list[str]] = []
        self.city_locations: dict[str, list[str]] = {}
        for index in range(count):
            city = CITIES[index] if index < len(CITIES) else CITIES[pick(rng, weights)]
            place = f"{city.name} {rng.choice(city.places)} {rng.choice(FACILITIES)}"
            name = _unique(place, taken)
            if rng.random() < 0.85:
                created = HISTORY_START - self._seconds(30, 500)
            else:
                created = HISTORY_START + self._seconds(0, 450)
            location_id = self.new_id()
            self.location_rows.append(
                (location_id, name, city.time_zone, self.time_format(created))
            )
            self.location_cities.append(city)
            self.location_created.append(created)
            self.location_devices.append([])
            self.city_locations.setdefault(city.name, []).append(location_id)

    def tariff_rows(self) -> list[dict[str, Any]]:
        """A tariff for every location and fleet of this batch, in its city's currency.

        Parking: 15 free minutes, then the hourly rate per started hour, capped per day.
        Rentals: the per-minute rate per started minute, capped at 40 of those per day.
        """
        rows: list[dict[str, Any]] = []
        for (location_id, *_), city in zip(self.location_rows, self.location_cities, strict=True):
            rate, cap = PARKING_PRICE[city.currency]
            rows.append(_tariff(location_id, "location_id", city.currency, 15, 60, rate, cap))
        for (fleet_id, *_), city in zip(self.fleet_rows, self.fleet_cities, strict=True):
            _, per_minute, _ = RENTAL_PRICE[city.currency]
            rows.append(
                _tariff(fleet_id, "fleet_id", city.currency, 0, 1, per_minute, 40 * per_minute)
            )
        return rows

    def _make_fleets(self, count: int, taken: set[str]) -> None:
        rng = self.rng
        by_name = {city.name: city for city in CITIES}
        cities = [by_name[name] for name in FLEET_CITY_ORDER if name in self.city_locations]
        self.fleet_cities: list[City] = []
        self.fleet_created: list[int] = []
        for index in range(count):
            city = cities[index % len(cities)]
            name = _unique(f"{BRANDS[index % len(BRANDS)]} {city.name}", taken)
            if rng.random() < 0.8:
                created = HISTORY_START - self._seconds(0, 400)
            else:
                created = HISTORY_START + self._seconds(0, 365)
            self.fleet_rows.append((self.new_id(), name, self.time_format(created)))
            self.fleet_cities.append(city)
            self.fleet_created.append(created)

    def _make_parking_devices(self, count: int) -> list[Device]:
        rng = self.rng
        kinds = list(accumulate(PARKING_KIND_WEIGHTS))
        popularity = list(accumulate(0.3 + rng.random() * 1.4 for _ in self.location_rows))
        numbers = [0] * len(self.location_rows)
        devices = []
        for index in range(count):
            kind = PARKING_KINDS[index if index < len(PARKING_KINDS) else pick(rng, kinds)]
            # Every location gets a device; the rest go to the popular ones more often.
            location = index if index < len(numbers) else pick(rng, popularity)
            numbers[location] += 1
            device = Device(
                id=self.new_id(),
                kind=kind.value,
                name=f"{DEVICE_LABELS[kind]} {numbers[location]}",
                parking=True,
                city=self.location_cities[location],
                created=self.location_created[location] + self._seconds(0, 30),
                location=location,
            )
            self.location_devices[location].append(device.id)
            devices.append(device)
        return devices

    def _make_rental_devices(self, count: int, serial: int) -> list[Device]:
        rng = self.rng
        kinds = list(accumulate(RENTAL_KIND_WEIGHTS))
        devices = []
        for index in range(count):
            kind = RENTAL_KINDS[index if index < len(RENTAL_KINDS) else pick(rng, kinds)]
            fleet = (
                index if index < len(self.fleet_rows) else int(rng.random() * len(self.fleet_rows))
            )
            fleet_created = self.fleet_created[fleet]
            # Most vehicles came with the fleet's launch; the rest as it grew.
            if rng.random() < 0.7:
                created = fleet_created + self._seconds(0, 30)
            else:
                created = fleet_created + int(
                    rng.random() * (NOW_SECONDS - 60 * DAY - fleet_created)
                )
            devices.append(
                Device(
                    id=self.new_id(),
                    kind=kind.value,
                    name=f"{DEVICE_LABELS[kind]} {serial + index + 1:06d}",
                    parking=False,
                    city=self.fleet_cities[fleet],
                    created=created,
                    fleet=fleet,
                )
            )
        return devices

    def _make_users(self, count: int) -> None:
        rng = self.rng
        self.users = [self.new_id() for _ in range(count)]
        # Most riders have one access key (a card or a phone); some have two.
        self.access_keys = [
            (self.new_id(), self.new_id()) if rng.random() < 0.3 else (self.new_id(),)
            for _ in range(count)
        ]

    def _plan(self, devices: list[Device], total: int) -> None:
        """Give each device its timeline: first day, length, sessions, latest status."""
        rng = self.rng
        for device in devices:
            device.first = max(HISTORY_START, device.created + DAY)
            device.span = NOW_SECONDS - device.first
        weights = [(0.3 + rng.random() * 1.4) * device.span for device in devices]
        counts = _allocate(total, weights)
        used = 0
        for device, count in zip(devices, counts, strict=True):
            device.count = count
            if count == 0:
                continue
            # Slots of at least three hours, whatever the device's popularity.
            if device.span < count * 3 * HOUR:
                device.first = NOW_SECONDS - count * 3 * HOUR
                device.span = NOW_SECONDS - device.first
                device.created = min(device.created, device.first - DAY)
            # Only the latest session of a device may hold it: booked or active. The first
            # two devices in use always do, so even a small batch has every status.
            if used == 0:
                device.latest_status = ACTIVE
            elif used == 1:
                device.latest_status = BOOKED
            else:
                roll = rng.random()
                device.latest_status = ACTIVE if roll < 0.10 else BOOKED if roll < 0.16 else ENDED
            used += 1
