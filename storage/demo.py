"""Deterministic demo data: places, fleets, devices and two years of parking and rental sessions.

``seed`` writes a realistic, reproducible history: the same ``seed`` and ``sessions`` give the
same rows, ids included. Every device's sessions form a timeline of non-overlapping slots and
only a device's latest session may be booked or active, so the data satisfies every check
constraint and partial unique index of the schema.

Rows are generated as tuples in chunks and written with one COPY per table per chunk on
PostgreSQL and one ``executemany`` per table per chunk on SQLite, in exactly the formats
SQLAlchemy's own types use (naive UTC timestamps; on SQLite 32-digit hex UUIDs and
``YYYY-MM-DD HH:MM:SS.ffffff`` text), so the models read the rows back as if the ORM had
written them. The whole load is one transaction: it lands completely or not at all.
"""

import asyncio
import math
import random
import sys
import time
import uuid
from bisect import bisect
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from typing import Any, Protocol

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from tqdm import tqdm

from storage.enums import DeviceKind, EventName, PaymentStatus, SessionKind, SessionStatus
from storage.models import Device, Fleet, Location, Session, Tariff
from storage.records import Money

NOW = datetime(2026, 11, 1, tzinfo=UTC)
"""The fixed present of the demo data: nothing happens after it (bar a booking's deadline)."""

HISTORY_DAYS = 730
CHUNK_SESSIONS = 20_000
SESSIONS_PER_DEVICE = 40
MIN_DEVICES = 30
SESSIONS_PER_USER = 20
MIN_USERS = 20

_MINUTE = 60
_HOUR = 3600
_DAY = 86400
_NOW = int(NOW.timestamp())
_HISTORY_START = _NOW - HISTORY_DAYS * _DAY
_FLOOR = _NOW - 5 * 365 * _DAY  # nothing is created before this
_CEILING = _NOW + 2 * _DAY  # a booking's deadline may lie a little after NOW

_PARKING = SessionKind.PARKING.value
_RENTAL = SessionKind.RENTAL.value
_PENDING = SessionStatus.PENDING.value
_BOOKED = SessionStatus.BOOKED.value
_ACTIVE = SessionStatus.ACTIVE.value
_ENDED = SessionStatus.ENDED.value
_BOOK = EventName.BOOK.value
_START = EventName.START.value
_PAUSE = EventName.PAUSE.value
_RESUME = EventName.RESUME.value
_END = EventName.END.value

_V4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_V4_SET = (0x8000 << 48) | (4 << 76)


class AlreadySeeded(Exception):
    """The database already holds sessions and the caller did not ask to add more."""

    def __init__(self, sessions: int) -> None:
        super().__init__(
            f"the database already holds {sessions} sessions; pass add=True "
            "(CLI: --add) to add another batch of demo data"
        )
        self.sessions = sessions


@dataclass(frozen=True, slots=True)
class SeedSummary:
    """What one call of ``seed`` wrote, and how long it took."""

    locations: int
    fleets: int
    devices: int
    sessions: int
    events: int
    seconds: float


@dataclass(frozen=True, slots=True)
class _City:
    name: str
    time_zone: str
    currency: str
    utc_offset: int  # standard time, in hours: for the daily rhythm of sessions
    weight: int
    places: tuple[str, ...]


# The first cities are the ones a small batch gets, so even a small demo spans time zones.
_CITIES = (
    _City(
        "Tallinn",
        "Europe/Tallinn",
        "EUR",
        2,
        14,
        (
            "Balti jaam",
            "Vanalinn",
            "Ülemiste",
            "Kalamaja",
            "Telliskivi",
            "Kadriorg",
            "Rotermann",
            "Kristiine",
        ),
    ),
    _City(
        "Berlin",
        "Europe/Berlin",
        "EUR",
        1,
        12,
        (
            "Hauptbahnhof",
            "Alexanderplatz",
            "Kreuzberg",
            "Prenzlauer Berg",
            "Potsdamer Platz",
            "Friedrichshain",
            "Ostkreuz",
        ),
    ),
    _City(
        "London",
        "Europe/London",
        "GBP",
        0,
        10,
        (
            "King's Cross",
            "Shoreditch",
            "Canary Wharf",
            "Camden",
            "Waterloo",
            "Southbank",
            "Paddington",
        ),
    ),
    _City(
        "New York",
        "America/New_York",
        "USD",
        -5,
        8,
        (
            "Penn Station",
            "Williamsburg",
            "Union Square",
            "Battery Park",
            "Hudson Yards",
            "Astoria",
            "DUMBO",
        ),
    ),
    _City(
        "Tokyo",
        "Asia/Tokyo",
        "JPY",
        9,
        6,
        ("Shibuya", "Shinjuku", "Ueno", "Akihabara", "Ginza", "Ikebukuro", "Odaiba"),
    ),
    _City(
        "Paris",
        "Europe/Paris",
        "EUR",
        1,
        10,
        ("Gare du Nord", "Le Marais", "Bastille", "La Défense", "Montmartre", "Gare de Lyon"),
    ),
    _City(
        "Amsterdam",
        "Europe/Amsterdam",
        "EUR",
        1,
        10,
        ("Centraal", "Zuidas", "De Pijp", "Jordaan", "Sloterdijk", "Amstel"),
    ),
    _City(
        "Helsinki",
        "Europe/Helsinki",
        "EUR",
        2,
        8,
        ("Rautatientori", "Kamppi", "Kallio", "Pasila", "Hakaniemi", "Ruoholahti"),
    ),
    _City(
        "Tartu",
        "Europe/Tallinn",
        "EUR",
        2,
        6,
        ("Raekoja plats", "Tasku", "Ülejõe", "Annelinn", "Tartu Ülikool"),
    ),
    _City(
        "Munich",
        "Europe/Berlin",
        "EUR",
        1,
        8,
        ("Marienplatz", "Hauptbahnhof", "Schwabing", "Olympiapark", "Ostbahnhof"),
    ),
    _City(
        "San Francisco",
        "America/Los_Angeles",
        "USD",
        -8,
        5,
        ("Embarcadero", "Mission", "SoMa", "4th & King", "Civic Center"),
    ),
    _City(
        "Riga", "Europe/Riga", "EUR", 2, 5, ("Centrālā stacija", "Vecrīga", "Āgenskalns", "Teika")
    ),
)
# Fleets go first to cities in this order, so a few fleets already use several currencies.
_FLEET_CITY_ORDER = (
    "Tallinn",
    "New York",
    "London",
    "Tokyo",
    "Berlin",
    "Paris",
    "Amsterdam",
    "Helsinki",
    "Tartu",
    "Munich",
    "San Francisco",
    "Riga",
)
_FACILITIES = (
    "Bike House",
    "Mobility Hub",
    "Bike Parking",
    "Locker Bank",
    "Dock Station",
    "Park & Ride",
    "Cycle Hub",
)
_BRANDS = (
    "Volta",
    "Hoppa",
    "Glide",
    "Zippa",
    "Tandem",
    "Urbano",
    "Ridely",
    "Spinwheel",
    "Kikk",
    "Swoop",
    "Pedalo",
    "Vello",
)
_DEVICE_LABELS = {
    DeviceKind.LOCKER: "Locker",
    DeviceKind.BIKE_DOCK: "Bike dock",
    DeviceKind.SCOOTER_DOCK: "Scooter dock",
    DeviceKind.RACK: "Rack",
    DeviceKind.E_BIKE: "E-bike",
    DeviceKind.E_SCOOTER: "E-scooter",
}
_PARKING_KINDS = (DeviceKind.LOCKER, DeviceKind.BIKE_DOCK, DeviceKind.SCOOTER_DOCK, DeviceKind.RACK)
_PARKING_KIND_WEIGHTS = (25, 35, 20, 20)
_RENTAL_KINDS = (DeviceKind.E_BIKE, DeviceKind.E_SCOOTER)
_RENTAL_KIND_WEIGHTS = (55, 45)

# Prices in minor units: parking per started hour and its daily cap; rental unlock, per
# riding minute and per paused minute; the no-show fee of a booking that was never used.
_PARKING_PRICE = {"EUR": (100, 1000), "GBP": (120, 1200), "USD": (150, 1500), "JPY": (200, 1500)}
_RENTAL_PRICE = {
    "EUR": (100, 22, 5),
    "GBP": (100, 25, 5),
    "USD": (100, 39, 10),
    "JPY": (150, 30, 10),
}
_NO_SHOW_FEE = {"EUR": 100, "GBP": 100, "USD": 100, "JPY": 150}

_PAYMENT_STATUSES = tuple(status.value for status in PaymentStatus)
_PAID = PaymentStatus.PAID.value
_IN_FLIGHT = frozenset(
    {PaymentStatus.PENDING.value, PaymentStatus.NEEDS_APPROVAL.value, PaymentStatus.APPROVED.value}
)
_PAYMENT_WEIGHTS = {
    PaymentStatus.PAID: 82,
    PaymentStatus.PENDING: 3,
    PaymentStatus.NEEDS_APPROVAL: 2,
    PaymentStatus.APPROVED: 3,
    PaymentStatus.CANCELED: 1.5,
    PaymentStatus.PAYMENT_FAILED: 3,
    PaymentStatus.REFUNDED: 3,
    PaymentStatus.REFUND_FAILED: 0.5,
    PaymentStatus.NOT_CHARGED: 2,
}
_RATING_WEIGHTS = (5, 7, 15, 33, 40)
_COMMENTS = (
    (
        "The lock would not open at first.",
        "Dirty, and the brakes squeaked.",
        "I was charged twice, please check.",
        "Support never answered.",
    ),
    (
        "The app lost connection on the way.",
        "Hard to find the dock.",
        "Battery was lower than the app showed.",
        "Took ages to end the session.",
    ),
    (
        "OK, but a bit pricey.",
        "Fine, nothing special.",
        "Unlocking took a while.",
        "Would be nice to have more spots here.",
    ),
    (
        "Smooth ride.",
        "Easy to find and easy to use.",
        "Good, will use again.",
        "Clean and well kept.",
    ),
    (
        "Perfect, thanks!",
        "Super convenient for my commute.",
        "Great service, instant unlock.",
        "Best way to get around the city.",
    ),
)

_LOCATION_COLUMNS = ("id", "name", "time_zone", "created_at")
_FLEET_COLUMNS = ("id", "name", "created_at")
_DEVICE_COLUMNS = ("id", "kind", "name", "location_id", "fleet_id", "created_at")
_SESSION_COLUMNS = (
    "id",
    "kind",
    "status",
    "user_id",
    "access_key_id",
    "created_at",
    "updated_at",
    "booked_time",
    "booked_until_time",
    "start_time",
    "end_time",
    "reference_time",
    "fee_minor",
    "fee_currency",
    "payment_id",
    "payment_status",
    "rating",
    "rating_comment",
    "storage_location_id",
    "storage_device_id",
    "travel_start_location_id",
    "travel_end_location_id",
    "rental_device_id",
    "rental_fleet_id",
    "seconds_active",
    "seconds_paused",
    "battery_used",
    "distance_travelled",
)
_EVENT_COLUMNS = ("session_id", "name", "timestamp")
_AUXILIARY_COLUMNS = ("session_id", "device_id")

Row = tuple[Any, ...]
TimeFormat = Callable[[int], Any]


async def count_sessions(engine: AsyncEngine) -> int:
    """How many sessions the database holds."""
    async with engine.connect() as connection:
        return await _count(connection, Session)


async def seed(
    engine: AsyncEngine,
    sessions: int,
    seed: int = 1,
    add: bool = False,
    progress: bool = True,
) -> SeedSummary:
    """Write ``sessions`` demo sessions with their locations, fleets, devices and events.

    Refuses with ``AlreadySeeded``, before writing anything, when the database already holds
    sessions, unless ``add`` is true: then a new batch with its own locations, fleets,
    devices and users is added, its ids derived from ``seed`` and the existing count.
    """
    if sessions < 1:
        raise ValueError(f"sessions must be at least 1, not {sessions}")
    started = time.perf_counter()
    async with engine.begin() as connection:
        existing = await _count(connection, Session)
        if existing and not add:
            raise AlreadySeeded(existing)
        existing_rows = _Existing(
            location_names=set((await connection.execute(select(Location.name))).scalars()),
            fleet_names=set((await connection.execute(select(Fleet.name))).scalars()),
            devices=await _count(connection, Device),
        )
        writer = await _writer(connection)
        try:
            # A first batch is ``Random(seed)``; later batches get their own, distinct stream.
            rng = random.Random(seed if existing == 0 else f"demo:{seed}:{existing}")
            generator = _Generator(rng, sessions, existing_rows, writer.time_format)
            await writer.insert("locations", _LOCATION_COLUMNS, generator.location_rows)
            await writer.insert("fleets", _FLEET_COLUMNS, generator.fleet_rows)
            await connection.execute(insert(Tariff), generator.tariff_rows())
            await writer.insert("devices", _DEVICE_COLUMNS, generator.device_rows)
            events = 0
            with tqdm(
                total=sessions,
                desc="demo sessions",
                unit=" sessions",
                unit_scale=True,
                file=sys.stderr,
                disable=not progress,
            ) as bar:
                async with aclosing(_prefetch(generator.chunks())) as chunks:
                    async for chunk in chunks:
                        await writer.insert("sessions", _SESSION_COLUMNS, chunk.sessions)
                        await writer.insert("session_events", _EVENT_COLUMNS, chunk.events)
                        await writer.insert(
                            "session_auxiliary_devices",
                            _AUXILIARY_COLUMNS,
                            chunk.auxiliary_devices,
                        )
                        events += len(chunk.events)
                        bar.update(len(chunk.sessions))
        finally:
            await writer.finish()
    return SeedSummary(
        locations=len(generator.location_rows),
        fleets=len(generator.fleet_rows),
        devices=len(generator.device_rows),
        sessions=sessions,
        events=events,
        seconds=round(time.perf_counter() - started, 3),
    )


async def _count(connection: AsyncConnection, model: type[Any]) -> int:
    result = await connection.execute(select(func.count()).select_from(model))
    return int(result.scalar_one())


async def _prefetch(chunks: Iterator["_Chunk"]) -> AsyncGenerator["_Chunk", None]:
    """Yield the chunks, generating the next one in a thread while the current one is written.

    PostgreSQL does its share of the work in its own process, so generating ahead keeps
    both cores busy. Only one thread at a time ever advances ``chunks``.
    """
    upcoming = asyncio.ensure_future(asyncio.to_thread(next, chunks, None))
    try:
        while (chunk := await upcoming) is not None:
            upcoming = asyncio.ensure_future(asyncio.to_thread(next, chunks, None))
            yield chunk
    finally:
        if not upcoming.done():
            await asyncio.gather(upcoming, return_exceptions=True)


# --- writing ------------------------------------------------------------------------------


class _Writer(Protocol):
    time_format: TimeFormat

    async def insert(self, table: str, columns: Sequence[str], rows: list[Row]) -> None: ...

    async def finish(self) -> None: ...


async def _writer(connection: AsyncConnection) -> _Writer:
    dialect = connection.dialect.name
    if dialect == "sqlite":
        writer = _SqliteWriter(connection)
        await writer.start()
        return writer
    if dialect == "postgresql":
        raw = await connection.get_raw_connection()
        return _PostgresWriter(raw.driver_connection)
    raise NotImplementedError(f"demo data cannot be written to {dialect}")


class _SqliteWriter:
    """One ``executemany`` per table and chunk, on the transaction's own connection.

    Values are pre-rendered the way SQLAlchemy renders them on SQLite: ``Uuid`` as 32
    lower-case hex digits, ``DateTime`` as ``YYYY-MM-DD HH:MM:SS.ffffff`` text.
    """

    CACHE_KIB = 256 * 1024

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection
        self.time_format = _sqlite_time_format()
        self.cache_size: int | None = None

    async def start(self) -> None:
        # A larger page cache keeps the session indexes in memory while they grow.
        result = await self.connection.exec_driver_sql("PRAGMA cache_size")
        self.cache_size = int(result.scalar_one())
        await self.connection.exec_driver_sql(f"PRAGMA cache_size = -{self.CACHE_KIB}")

    async def insert(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        if not rows:
            return
        names = ", ".join(f'"{column}"' for column in columns)
        marks = ", ".join("?" * len(columns))
        await self.connection.exec_driver_sql(
            f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows
        )

    async def finish(self) -> None:
        if self.cache_size is not None:
            await self.connection.exec_driver_sql(f"PRAGMA cache_size = {self.cache_size}")


class _PostgresWriter:
    """One binary COPY per table and chunk, inside the transaction SQLAlchemy began.

    Timestamps are naive UTC ``datetime`` values (the ``TZDateTime`` convention); asyncpg
    takes UUIDs as hex strings.
    """

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.time_format = _postgres_time_format()

    async def insert(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        if rows:
            await self.connection.copy_records_to_table(table, records=rows, columns=list(columns))

    async def finish(self) -> None:
        return None


def _sqlite_time_format() -> TimeFormat:
    """Render epoch seconds exactly as SQLAlchemy's SQLite ``DateTime`` stores them."""
    first_day = _FLOOR // _DAY
    days = [
        (date(1970, 1, 1) + timedelta(days=day)).isoformat()
        for day in range(first_day, _CEILING // _DAY + 1)
    ]
    clock = [
        f" {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}.000000"
        for second in range(_DAY)
    ]

    def render(seconds: int) -> str:
        day, second = divmod(seconds, _DAY)
        return days[day - first_day] + clock[second]

    return render


def _postgres_time_format() -> TimeFormat:
    """Turn epoch seconds into the naive UTC ``datetime`` the timestamp columns hold."""
    epoch = datetime(1970, 1, 1)

    def render(seconds: int) -> datetime:
        return epoch + timedelta(seconds=seconds)

    return render


# --- generating ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Existing:
    """What earlier batches left: names a new batch must not repeat, devices it numbers after."""

    location_names: set[str]
    fleet_names: set[str]
    devices: int


@dataclass(slots=True)
class _Chunk:
    sessions: list[Row] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    auxiliary_devices: list[Row] = field(default_factory=list)


@dataclass(slots=True)
class _Device:
    id: str
    kind: str
    name: str
    parking: bool
    city: _City
    created: int
    location: int | None = None  # parking devices: index of their location
    fleet: int | None = None  # rental devices: index of their fleet
    first: int = 0  # start of the device's timeline
    span: int = 0  # length of the timeline, ending at NOW
    count: int = 0  # sessions on the timeline
    latest_status: str = _ENDED  # status of the last session on the timeline
    next_slot: int = 0
    position: str | None = None  # rental devices: where the last ride ended


def _pick(rng: random.Random, cumulative: Sequence[float]) -> int:
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


class _Generator:
    """One batch: places, fleets, devices and users up front, then sessions chunk by chunk.

    Every random choice comes from one ``random.Random`` consumed in a fixed order, so a
    batch depends only on its seed and size. Each device's history is a timeline of equal
    slots from its first day to NOW, one session per slot; chunks are windows of time, so
    rows arrive roughly in time order and the time-ordered indexes grow at their ends.
    """

    def __init__(
        self, rng: random.Random, sessions: int, existing: _Existing, time_format: TimeFormat
    ) -> None:
        self.rng = rng
        self.sessions = sessions
        self.time_format = time_format
        self.paid = 0
        self.location_rows: list[Row] = []
        self.fleet_rows: list[Row] = []
        self.device_rows: list[Row] = []
        self._new_id = self._id_factory()

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
        return int((low_days + self.rng.random() * (high_days - low_days)) * _DAY)

    def _make_locations(self, count: int, taken: set[str]) -> None:
        rng = self.rng
        weights = list(accumulate(city.weight for city in _CITIES))
        self.location_cities: list[_City] = []
        self.location_created: list[int] = []
        self.location_devices: list[list[str]] = []
        self.city_locations: dict[str, list[str]] = {}
        for index in range(count):
            city = _CITIES[index] if index < len(_CITIES) else _CITIES[_pick(rng, weights)]
            place = f"{city.name} {rng.choice(city.places)} {rng.choice(_FACILITIES)}"
            name = _unique(place, taken)
            if rng.random() < 0.85:
                created = _HISTORY_START - self._seconds(30, 500)
            else:
                created = _HISTORY_START + self._seconds(0, 450)
            location_id = self._new_id()
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
            rate, cap = _PARKING_PRICE[city.currency]
            rows.append(_tariff(location_id, "location_id", city.currency, 15, 60, rate, cap))
        for (fleet_id, *_), city in zip(self.fleet_rows, self.fleet_cities, strict=True):
            _, per_minute, _ = _RENTAL_PRICE[city.currency]
            rows.append(
                _tariff(fleet_id, "fleet_id", city.currency, 0, 1, per_minute, 40 * per_minute)
            )
        return rows

    def _make_fleets(self, count: int, taken: set[str]) -> None:
        rng = self.rng
        by_name = {city.name: city for city in _CITIES}
        cities = [by_name[name] for name in _FLEET_CITY_ORDER if name in self.city_locations]
        self.fleet_cities: list[_City] = []
        self.fleet_created: list[int] = []
        for index in range(count):
            city = cities[index % len(cities)]
            name = _unique(f"{_BRANDS[index % len(_BRANDS)]} {city.name}", taken)
            if rng.random() < 0.8:
                created = _HISTORY_START - self._seconds(0, 400)
            else:
                created = _HISTORY_START + self._seconds(0, 365)
            self.fleet_rows.append((self._new_id(), name, self.time_format(created)))
            self.fleet_cities.append(city)
            self.fleet_created.append(created)

    def _make_parking_devices(self, count: int) -> list[_Device]:
        rng = self.rng
        kinds = list(accumulate(_PARKING_KIND_WEIGHTS))
        popularity = list(accumulate(0.3 + rng.random() * 1.4 for _ in self.location_rows))
        numbers = [0] * len(self.location_rows)
        devices = []
        for index in range(count):
            kind = _PARKING_KINDS[index if index < len(_PARKING_KINDS) else _pick(rng, kinds)]
            # Every location gets a device; the rest go to the popular ones more often.
            location = index if index < len(numbers) else _pick(rng, popularity)
            numbers[location] += 1
            device = _Device(
                id=self._new_id(),
                kind=kind.value,
                name=f"{_DEVICE_LABELS[kind]} {numbers[location]}",
                parking=True,
                city=self.location_cities[location],
                created=self.location_created[location] + self._seconds(0, 30),
                location=location,
            )
            self.location_devices[location].append(device.id)
            devices.append(device)
        return devices

    def _make_rental_devices(self, count: int, serial: int) -> list[_Device]:
        rng = self.rng
        kinds = list(accumulate(_RENTAL_KIND_WEIGHTS))
        devices = []
        for index in range(count):
            kind = _RENTAL_KINDS[index if index < len(_RENTAL_KINDS) else _pick(rng, kinds)]
            fleet = (
                index if index < len(self.fleet_rows) else int(rng.random() * len(self.fleet_rows))
            )
            fleet_created = self.fleet_created[fleet]
            # Most vehicles came with the fleet's launch; the rest as it grew.
            if rng.random() < 0.7:
                created = fleet_created + self._seconds(0, 30)
            else:
                created = fleet_created + int(rng.random() * (_NOW - 60 * _DAY - fleet_created))
            devices.append(
                _Device(
                    id=self._new_id(),
                    kind=kind.value,
                    name=f"{_DEVICE_LABELS[kind]} {serial + index + 1:06d}",
                    parking=False,
                    city=self.fleet_cities[fleet],
                    created=created,
                    fleet=fleet,
                )
            )
        return devices

    def _make_users(self, count: int) -> None:
        rng = self.rng
        self.users = [self._new_id() for _ in range(count)]
        # Most riders have one access key (a card or a phone); some have two.
        self.access_keys = [
            (self._new_id(), self._new_id()) if rng.random() < 0.3 else (self._new_id(),)
            for _ in range(count)
        ]

    def _plan(self, devices: list[_Device], total: int) -> None:
        """Give each device its timeline: first day, length, sessions, latest status."""
        rng = self.rng
        for device in devices:
            device.first = max(_HISTORY_START, device.created + _DAY)
            device.span = _NOW - device.first
        weights = [(0.3 + rng.random() * 1.4) * device.span for device in devices]
        counts = _allocate(total, weights)
        used = 0
        for device, count in zip(devices, counts, strict=True):
            device.count = count
            if count == 0:
                continue
            # Slots of at least three hours, whatever the device's popularity.
            if device.span < count * 3 * _HOUR:
                device.first = _NOW - count * 3 * _HOUR
                device.span = _NOW - device.first
                device.created = min(device.created, device.first - _DAY)
            # Only the latest session of a device may hold it: booked or active. The first
            # two devices in use always do, so even a small batch has every status.
            if used == 0:
                device.latest_status = _ACTIVE
            elif used == 1:
                device.latest_status = _BOOKED
            else:
                roll = rng.random()
                device.latest_status = (
                    _ACTIVE if roll < 0.10 else _BOOKED if roll < 0.16 else _ENDED
                )
            used += 1

    # -- sessions

    def chunks(self) -> Iterator[_Chunk]:
        """The sessions, their events and auxiliary devices, one window of time per chunk."""
        windows = max(1, math.ceil(self.sessions / CHUNK_SESSIONS))
        width = math.ceil((_NOW - _HISTORY_START) / windows)
        devices = self.parking_devices + self.rental_devices
        for window in range(windows):
            last = window == windows - 1
            end = _NOW + 1 if last else _HISTORY_START + (window + 1) * width
            chunk = _Chunk()
            for device in devices:
                slot, count, first, span = device.next_slot, device.count, device.first, device.span
                while slot < count:
                    start = first + slot * span // count
                    if start >= end:
                        break
                    slot += 1
                    stop = first + slot * span // count
                    status = device.latest_status if slot == count else _ENDED
                    self._session(chunk, device, start, stop, status)
                device.next_slot = slot
            if last:
                rng = self.rng
                for _ in range(self.pending_parking):
                    device = self.parking_devices[int(rng.random() * len(self.parking_devices))]
                    self._session(chunk, device, 0, 0, _PENDING)
                for _ in range(self.pending_rental):
                    device = self.rental_devices[int(rng.random() * len(self.rental_devices))]
                    self._session(chunk, device, 0, 0, _PENDING)
            yield chunk

    def _when(self, low: int, high: int, utc_offset: int) -> int:
        """A moment in [low, high], at a time of day people ride and park when it fits."""
        rnd = self.rng.random
        moment = low + int(rnd() * (high - low)) if high > low else low
        # Standard time is close enough: the daily rhythm, not the clock, is what matters.
        shift = utc_offset * _HOUR
        midnight = (moment + shift) // _DAY * _DAY - shift
        hour = _pick(self.rng, _HOURLY_CUMULATIVE)
        candidate = midnight + hour * _HOUR + int(rnd() * _HOUR)
        return candidate if low <= candidate <= high else moment

    def _duration(self, parking: bool) -> int:
        roll = self.rng.random()
        spread = self.rng.random()
        if parking:
            if roll < 0.45:  # an errand
                return int(10 * _MINUTE + spread * 170 * _MINUTE)
            if roll < 0.80:  # a working day
                return int(3 * _HOUR + spread * 8 * _HOUR)
            return int(11 * _HOUR + spread * 61 * _HOUR)  # overnight or a weekend
        if roll < 0.85:
            return int(3 * _MINUTE + spread * 27 * _MINUTE)
        if roll < 0.98:
            return int(30 * _MINUTE + spread * 60 * _MINUTE)
        return int(90 * _MINUTE + spread * 150 * _MINUTE)

    def _pauses(self, start: int, riding: int, most: int) -> list[tuple[int, int]]:
        """Pause/resume moments of a ride of ``riding`` seconds from ``start``: sorted pairs."""
        rng = self.rng
        roll = rng.random()
        count = 1 if roll < 0.7 else 2 if roll < 0.92 else 3
        count = min(count, most)
        lengths = [int(60 + rng.random() * 840) for _ in range(count)]
        budget = riding // 2
        if sum(lengths) > budget:
            lengths = [max(30, length * budget // sum(lengths)) for length in lengths]
        moving = riding - sum(lengths)
        # Split the moving time into count + 1 legs of at least a minute each.
        spare = moving - 60 * (count + 1)
        cuts = sorted(int(rng.random() * spare) for _ in range(count))
        pairs = []
        previous_cut = 0
        moment = start
        for cut, length in zip(cuts, lengths, strict=True):
            moment += 60 + cut - previous_cut
            previous_cut = cut
            pairs.append((moment, moment + length))
            moment += length
        return pairs

    def _payment(self, ended: int) -> tuple[str | None, str | None]:
        rng = self.rng
        if rng.random() >= 0.96:  # not charged yet
            return None, None
        if self.paid < len(_PAYMENT_STATUSES):
            # Every status shows up, even in a small batch.
            status = _PAYMENT_STATUSES[self.paid]
        else:
            status = _PAYMENT_STATUSES[_pick(rng, _PAYMENT_CUMULATIVE)]
            # Payments in flight settle within days; old ones are mostly paid by now.
            if status in _IN_FLIGHT and ended < _NOW - 7 * _DAY and rng.random() < 0.9:
                status = _PAID
        self.paid += 1
        return self._new_id(), status

    def _session(self, chunk: _Chunk, device: _Device, low: int, high: int, status: str) -> None:
        """Add one session of ``device`` in the slot [low, high) (pending: recent, no slot)."""
        rng = self.rng
        rnd = rng.random
        render = self.time_format
        session_id = self._new_id()
        user_index = int(len(self.users) * rnd() ** 2)  # a few riders ride a lot
        keys = self.access_keys[user_index]
        roll = rnd()
        access_key = None if roll < 0.12 else keys[1] if roll > 0.82 and len(keys) == 2 else keys[0]
        parking = device.parking
        currency = device.city.currency

        booked = until = start = end = None
        pauses: list[tuple[int, int]] = []
        fee = payment_id = payment_status = rating = comment = None
        seconds_active = seconds_paused = None
        battery = distance = None
        travel_start = travel_end = None
        if not parking:
            position = device.position
            if position is not None and rnd() < 0.9:
                travel_start = position
            elif rnd() < 0.8:
                places = self.city_locations[device.city.name]
                travel_start = places[int(rnd() * len(places))]

        if status == _PENDING:
            created = _NOW - int(60 + rnd() * 47 * _HOUR)
        elif status == _BOOKED:
            hold = (15, 30, 30, 60)[int(rnd() * 4)] * _MINUTE
            booked = _NOW - int(60 + rnd() * (hold - 120))
            until = booked + hold  # still valid: a little after NOW
            created = booked - int(rnd() * 20)
        else:
            booking = rnd() < (0.35 if parking else 0.2)
            lead = int(rnd() * 20) if booking else 1 + int(rnd() * 90)
            hold = (15, 30, 30, 60)[int(rnd() * 4)] * _MINUTE if booking else 0
            wait = 60 + int(rnd() * (hold - 60)) if booking else 0
            if status == _ACTIVE:
                back = (
                    (5 * _MINUTE + rnd() * 2 * _DAY)
                    if parking
                    else (2 * _MINUTE + rnd() * 88 * _MINUTE)
                )
                back = int(min(back, high - low - lead - wait - 60))
                start = _NOW - back
                created = start - wait - lead
                if not parking and back >= 20 * _MINUTE and rnd() < 0.25:
                    pauses = self._pauses(start, back - 60, 1)
            else:
                cancelled = booking and rnd() < 0.08
                if cancelled:
                    duration = 0
                    if rnd() < 0.5:
                        wait = hold  # the booking ran out
                else:
                    duration = self._duration(parking)
                need = lead + wait + duration + 60
                if need > high - low:
                    duration = max(60, high - low - lead - wait - 60)
                    need = lead + wait + duration + 60
                created = self._when(low, high - need, device.city.utc_offset)
                if cancelled:
                    end = created + lead + wait
                else:
                    start = created + lead + wait
                    end = start + duration
                    if not parking and duration >= 20 * _MINUTE and rnd() < 0.45:
                        pauses = self._pauses(start, duration, 3)
            if booking:
                booked = created + lead
                until = booked + hold

        events = chunk.events
        updated = created
        if booked is not None:
            events.append((session_id, _BOOK, render(booked)))
            updated = booked
        if start is not None:
            events.append((session_id, _START, render(start)))
            updated = start
        for paused_at, resumed_at in pauses:
            events.append((session_id, _PAUSE, render(paused_at)))
            events.append((session_id, _RESUME, render(resumed_at)))
            updated = resumed_at
        if end is not None:
            events.append((session_id, _END, render(end)))
            updated = end

        reference: int | None
        if status == _ENDED:
            assert end is not None
            reference = end
            if start is None:  # a cancelled booking: perhaps a no-show fee
                if rnd() < 0.3:
                    fee = _NO_SHOW_FEE[currency]
                if not parking:
                    seconds_active = seconds_paused = 0
                    battery = distance = 0.0
            else:
                ridden = end - start
                if parking:
                    if ridden >= 15 * _MINUTE and rnd() >= 0.06:
                        rate, cap = _PARKING_PRICE[currency]
                        days, hours = divmod(-(-ridden // _HOUR), 24)
                        fee = days * cap + min(hours * rate, cap)
                else:
                    seconds_paused = sum(resumed - paused for paused, resumed in pauses)
                    seconds_active = ridden - seconds_paused
                    distance, battery = self._ride(device.kind, seconds_active)
                    if rnd() >= 0.04:
                        unlock, per_minute, per_paused_minute = _RENTAL_PRICE[currency]
                        fee = (
                            unlock
                            + -(-seconds_active // 60) * per_minute
                            + -(-seconds_paused // 60) * per_paused_minute
                        )
                    if rnd() < 0.85:
                        places = self.city_locations[device.city.name]
                        travel_end = places[int(rnd() * len(places))]
                    device.position = travel_end
                if rnd() < 0.22:
                    rating = 1 + _pick(rng, _RATING_CUMULATIVE)
                    if rnd() < 0.35:
                        options = _COMMENTS[rating - 1]
                        comment = options[int(rnd() * len(options))]
            if fee is not None:
                payment_id, payment_status = self._payment(end)
        elif status == _ACTIVE:
            reference = start
            if not parking and rnd() < 0.5:  # what the vehicle reported so far
                assert start is not None
                seconds_paused = sum(resumed - paused for paused, resumed in pauses)
                seconds_active = updated - start - seconds_paused
                distance, battery = self._ride(device.kind, seconds_active)
        elif status == _BOOKED:
            reference = booked
        else:
            reference = created

        if parking:
            location_id = self.location_rows[device.location][0]  # type: ignore[index]
            storage: tuple[str | None, str | None] = (location_id, device.id)
            rental: tuple[str | None, str | None] = (None, None)
            if status != _PENDING and rnd() < 0.03:
                others = self.location_devices[device.location]  # type: ignore[index]
                if len(others) > 1:
                    other = others[int(rnd() * len(others))]
                    while other == device.id:
                        other = others[int(rnd() * len(others))]
                    chunk.auxiliary_devices.append((session_id, other))
        else:
            storage = (None, None)
            rental = (device.id, self.fleet_rows[device.fleet][0])  # type: ignore[index]

        assert reference is not None
        chunk.sessions.append(
            (
                session_id,
                _PARKING if parking else _RENTAL,
                status,
                self.users[user_index],
                access_key,
                render(created),
                render(updated),
                None if booked is None else render(booked),
                None if until is None else render(until),
                None if start is None else render(start),
                None if end is None else render(end),
                render(reference),
                fee,
                None if fee is None else currency,
                payment_id,
                payment_status,
                rating,
                comment,
                storage[0],
                storage[1],
                travel_start,
                travel_end,
                rental[0],
                rental[1],
                seconds_active,
                seconds_paused,
                battery,
                distance,
            )
        )

    def _ride(self, kind: str, seconds_active: int) -> tuple[float, float]:
        """Distance (metres) and battery used (percentage points) of ``seconds_active`` riding."""
        rnd = self.rng.random
        bike = kind == DeviceKind.E_BIKE.value
        distance = seconds_active * (4.2 if bike else 3.6) * (0.45 + 0.5 * rnd())
        battery = min(100.0, distance / 1000 * (0.9 if bike else 1.4) * (0.8 + 0.4 * rnd()))
        return round(distance, 1), round(battery, 2)


_PAYMENT_CUMULATIVE = list(
    accumulate(_PAYMENT_WEIGHTS[PaymentStatus(s)] for s in _PAYMENT_STATUSES)
)
_RATING_CUMULATIVE = list(accumulate(_RATING_WEIGHTS))
# Sessions per local hour of the day: quiet nights, a morning and an evening rush.
_HOURLY_WEIGHTS = (2, 1, 0.5, 0.5, 0.5, 1, 3, 7, 9, 7, 5, 5, 6, 6, 5, 6, 7, 9, 8, 6, 5, 4, 3, 2)
_HOURLY_CUMULATIVE = list(accumulate(_HOURLY_WEIGHTS))
