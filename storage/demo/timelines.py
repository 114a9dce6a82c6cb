"""Session timelines: every device's sessions, their events and payments, chunk by chunk."""

import math
from collections.abc import Iterator

from storage.demo.catalog import Catalog, Device, pick
from storage.demo.clock import DAY, HISTORY_START, HOUR, MINUTE, NOW_SECONDS
from storage.demo.rows import Chunk
from storage.demo.vocabulary import (
    ACTIVE,
    BOOK,
    BOOKED,
    COMMENTS,
    END,
    ENDED,
    HOURLY_CUMULATIVE,
    IN_FLIGHT,
    NO_SHOW_FEE,
    PAID,
    PARKING,
    PARKING_PRICE,
    PAUSE,
    PAYMENT_CUMULATIVE,
    PAYMENT_STATUSES,
    PENDING,
    RATING_CUMULATIVE,
    RENTAL,
    RENTAL_PRICE,
    RESUME,
    START,
)
from storage.enums import DeviceKind

CHUNK_SESSIONS = 20_000


class SessionTimelines:
    """The sessions of a catalog's devices, slot by slot along each device's timeline.

    Each device's history is a timeline of equal slots from its first day to NOW, one
    session per slot; chunks are windows of time, so rows arrive roughly in time order and
    the time-ordered indexes grow at their ends. Random choices continue the catalog's
    ``random.Random``, in the same fixed order.
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.rng = catalog.rng
        self.time_format = catalog.time_format
        self.paid = 0
        self._new_id = catalog.new_id

    def chunks(self) -> Iterator[Chunk]:
        """The sessions, their events and auxiliary devices, one window of time per chunk."""
        catalog = self.catalog
        windows = max(1, math.ceil(catalog.sessions / CHUNK_SESSIONS))
        width = math.ceil((NOW_SECONDS - HISTORY_START) / windows)
        devices = catalog.parking_devices + catalog.rental_devices
        for window in range(windows):
            last = window == windows - 1
            end = NOW_SECONDS + 1 if last else HISTORY_START + (window + 1) * width
            chunk = Chunk()
            for device in devices:
                slot, count, first, span = device.next_slot, device.count, device.first, device.span
                while slot < count:
                    start = first + slot * span // count
                    if start >= end:
                        break
                    slot += 1
                    stop = first + slot * span // count
                    status = device.latest_status if slot == count else ENDED
                    self._session(chunk, device, start, stop, status)
                device.next_slot = slot
            if last:
                rng = self.rng
                for _ in range(catalog.pending_parking):
                    device = catalog.parking_devices[
                        int(rng.random() * len(catalog.parking_devices))
                    ]
                    self._session(chunk, device, 0, 0, PENDING)
                for _ in range(catalog.pending_rental):
                    device = catalog.rental_devices[int(rng.random() * len(catalog.rental_devices))]
                    self._session(chunk, device, 0, 0, PENDING)
            yield chunk

    def _when(self, low: int, high: int, utc_offset: int) -> int:
        """A moment in [low, high], at a time of day people ride and park when it fits."""
        rnd = self.rng.random
        moment = low + int(rnd() * (high - low)) if high > low else low
        # Standard time is close enough: the daily rhythm, not the clock, is what matters.
        shift = utc_offset * HOUR
        midnight = (moment + shift) // DAY * DAY - shift
        hour = pick(self.rng, HOURLY_CUMULATIVE)
        candidate = midnight + hour * HOUR + int(rnd() * HOUR)
        return candidate if low <= candidate <= high else moment

    def _duration(self, parking: bool) -> int:
        roll = self.rng.random()
        spread = self.rng.random()
        if parking:
            if roll < 0.45:  # an errand
                return int(10 * MINUTE + spread * 170 * MINUTE)
            if roll < 0.80:  # a working day
                return int(3 * HOUR + spread * 8 * HOUR)
            return int(11 * HOUR + spread * 61 * HOUR)  # overnight or a weekend
        if roll < 0.85:
            return int(3 * MINUTE + spread * 27 * MINUTE)
        if roll < 0.98:
            return int(30 * MINUTE + spread * 60 * MINUTE)
        return int(90 * MINUTE + spread * 150 * MINUTE)

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
        if self.paid < len(PAYMENT_STATUSES):
            # Every status shows up, even in a small batch.
            status = PAYMENT_STATUSES[self.paid]
        else:
            status = PAYMENT_STATUSES[pick(rng, PAYMENT_CUMULATIVE)]
            # Payments in flight settle within days; old ones are mostly paid by now.
            if status in IN_FLIGHT and ended < NOW_SECONDS - 7 * DAY and rng.random() < 0.9:
                status = PAID
        self.paid += 1
        return self._new_id(), status

    def _session(self, chunk: Chunk, device: Device, low: int, high: int, status: str) -> None:
        """Add one session of ``device`` in the slot [low, high) (pending: recent, no slot)."""
        rng = self.rng
        rnd = rng.random
        render = self.time_format
        catalog = self.catalog
        session_id = self._new_id()
        user_index = int(len(catalog.users) * rnd() ** 2)  # a few riders ride a lot
        keys = catalog.access_keys[user_index]
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
                places = catalog.city_locations[device.city.name]
                travel_start = places[int(rnd() * len(places))]

        if status == PENDING:
            created = NOW_SECONDS - int(60 + rnd() * 47 * HOUR)
        elif status == BOOKED:
            hold = (15, 30, 30, 60)[int(rnd() * 4)] * MINUTE
            booked = NOW_SECONDS - int(60 + rnd() * (hold - 120))
            until = booked + hold  # still valid: a little after NOW
            created = booked - int(rnd() * 20)
        else:
            booking = rnd() < (0.35 if parking else 0.2)
            lead = int(rnd() * 20) if booking else 1 + int(rnd() * 90)
            hold = (15, 30, 30, 60)[int(rnd() * 4)] * MINUTE if booking else 0
            wait = 60 + int(rnd() * (hold - 60)) if booking else 0
            if status == ACTIVE:
                back = (
                    (5 * MINUTE + rnd() * 2 * DAY)
                    if parking
                    else (2 * MINUTE + rnd() * 88 * MINUTE)
                )
                back = int(min(back, high - low - lead - wait - 60))
                start = NOW_SECONDS - back
                created = start - wait - lead
                if not parking and back >= 20 * MINUTE and rnd() < 0.25:
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
                    if not parking and duration >= 20 * MINUTE and rnd() < 0.45:
                        pauses = self._pauses(start, duration, 3)
            if booking:
                booked = created + lead
                until = booked + hold

        events = chunk.events
        updated = created
        if booked is not None:
            events.append((session_id, BOOK, render(booked)))
            updated = booked
        if start is not None:
            events.append((session_id, START, render(start)))
            updated = start
        for paused_at, resumed_at in pauses:
            events.append((session_id, PAUSE, render(paused_at)))
            events.append((session_id, RESUME, render(resumed_at)))
            updated = resumed_at
        if end is not None:
            events.append((session_id, END, render(end)))
            updated = end

        reference: int | None
        if status == ENDED:
            assert end is not None
            reference = end
            if start is None:  # a cancelled booking: perhaps a no-show fee
                if rnd() < 0.3:
                    fee = NO_SHOW_FEE[currency]
                if not parking:
                    seconds_active = seconds_paused = 0
                    battery = distance = 0.0
            else:
                ridden = end - start
                if parking:
                    if ridden >= 15 * MINUTE and rnd() >= 0.06:
                        rate, cap = PARKING_PRICE[currency]
                        days, hours = divmod(-(-ridden // HOUR), 24)
                        fee = days * cap + min(hours * rate, cap)
                else:
                    seconds_paused = sum(resumed - paused for paused, resumed in pauses)
                    seconds_active = ridden - seconds_paused
                    distance, battery = self._ride(device.kind, seconds_active)
                    if rnd() >= 0.04:
                        unlock, per_minute, per_paused_minute = RENTAL_PRICE[currency]
                        fee = (
                            unlock
                            + -(-seconds_active // 60) * per_minute
                            + -(-seconds_paused // 60) * per_paused_minute
                        )
                    if rnd() < 0.85:
                        places = catalog.city_locations[device.city.name]
                        travel_end = places[int(rnd() * len(places))]
                    device.position = travel_end
                if rnd() < 0.22:
                    rating = 1 + pick(rng, RATING_CUMULATIVE)
                    if rnd() < 0.35:
                        options = COMMENTS[rating - 1]
                        comment = options[int(rnd() * len(options))]
            if fee is not None:
                payment_id, payment_status = self._payment(end)
        elif status == ACTIVE:
            reference = start
            if not parking and rnd() < 0.5:  # what the vehicle reported so far
                assert start is not None
                seconds_paused = sum(resumed - paused for paused, resumed in pauses)
                seconds_active = updated - start - seconds_paused
                distance, battery = self._ride(device.kind, seconds_active)
        elif status == BOOKED:
            reference = booked
        else:
            reference = created

        if parking:
            location_id = catalog.location_rows[device.location][0]  # type: ignore[index]
            storage: tuple[str | None, str | None] = (location_id, device.id)
            rental: tuple[str | None, str | None] = (None, None)
            if status != PENDING and rnd() < 0.03:
                others = catalog.location_devices[device.location]  # type: ignore[index]
                if len(others) > 1:
                    other = others[int(rnd() * len(others))]
                    while other == device.id:
                        other = others[int(rnd() * len(others))]
                    chunk.auxiliary_devices.append((session_id, other))
        else:
            storage = (None, None)
            rental = (device.id, catalog.fleet_rows[device.fleet][0])  # type: ignore[index]

        assert reference is not None
        chunk.sessions.append(
            (
                session_id,
                PARKING if parking else RENTAL,
                status,
                catalog.users[user_index],
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
