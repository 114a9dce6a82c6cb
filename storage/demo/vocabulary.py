"""The demo data's vocabulary: cities and places, brands, device kinds, prices, weights."""

from dataclasses import dataclass
from itertools import accumulate

from storage.enums import DeviceKind, EventName, PaymentStatus, SessionKind, SessionStatus

PARKING = SessionKind.PARKING.value
RENTAL = SessionKind.RENTAL.value
PENDING = SessionStatus.PENDING.value
BOOKED = SessionStatus.BOOKED.value
ACTIVE = SessionStatus.ACTIVE.value
ENDED = SessionStatus.ENDED.value
BOOK = EventName.BOOK.value
START = EventName.START.value
PAUSE = EventName.PAUSE.value
RESUME = EventName.RESUME.value
END = EventName.END.value


@dataclass(frozen=True, slots=True)
class City:
    """A city of the demo data: its places, currency and share of the locations."""

    name: str
    time_zone: str
    currency: str
    utc_offset: int  # standard time, in hours: for the daily rhythm of sessions
    weight: int
    places: tuple[str, ...]


# The first cities are the ones a small batch gets, so even a small demo spans time zones.
CITIES = (
    City(
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
    City(
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
    City(
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
    City(
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
    City(
        "Tokyo",
        "Asia/Tokyo",
        "JPY",
        9,
        6,
        ("Shibuya", "Shinjuku", "Ueno", "Akihabara", "Ginza", "Ikebukuro", "Odaiba"),
    ),
    City(
        "Paris",
        "Europe/Paris",
        "EUR",
        1,
        10,
        ("Gare du Nord", "Le Marais", "Bastille", "La Défense", "Montmartre", "Gare de Lyon"),
    ),
    City(
        "Amsterdam",
        "Europe/Amsterdam",
        "EUR",
        1,
        10,
        ("Centraal", "Zuidas", "De Pijp", "Jordaan", "Sloterdijk", "Amstel"),
    ),
    City(
        "Helsinki",
        "Europe/Helsinki",
        "EUR",
        2,
        8,
        ("Rautatientori", "Kamppi", "Kallio", "Pasila", "Hakaniemi", "Ruoholahti"),
    ),
    City(
        "Tartu",
        "Europe/Tallinn",
        "EUR",
        2,
        6,
        ("Raekoja plats", "Tasku", "Ülejõe", "Annelinn", "Tartu Ülikool"),
    ),
    City(
        "Munich",
        "Europe/Berlin",
        "EUR",
        1,
        8,
        ("Marienplatz", "Hauptbahnhof", "Schwabing", "Olympiapark", "Ostbahnhof"),
    ),
    City(
        "San Francisco",
        "America/Los_Angeles",
        "USD",
        -8,
        5,
        ("Embarcadero", "Mission", "SoMa", "4th & King", "Civic Center"),
    ),
    City(
        "Riga", "Europe/Riga", "EUR", 2, 5, ("Centrālā stacija", "Vecrīga", "Āgenskalns", "Teika")
    ),
)
# Fleets go first to cities in this order, so a few fleets already use several currencies.
FLEET_CITY_ORDER = (
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
FACILITIES = (
    "Bike House",
    "Mobility Hub",
    "Bike Parking",
    "Locker Bank",
    "Dock Station",
    "Park & Ride",
    "Cycle Hub",
)
BRANDS = (
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
DEVICE_LABELS = {
    DeviceKind.LOCKER: "Locker",
    DeviceKind.BIKE_DOCK: "Bike dock",
    DeviceKind.SCOOTER_DOCK: "Scooter dock",
    DeviceKind.RACK: "Rack",
    DeviceKind.E_BIKE: "E-bike",
    DeviceKind.E_SCOOTER: "E-scooter",
}
PARKING_KINDS = (DeviceKind.LOCKER, DeviceKind.BIKE_DOCK, DeviceKind.SCOOTER_DOCK, DeviceKind.RACK)
PARKING_KIND_WEIGHTS = (25, 35, 20, 20)
RENTAL_KINDS = (DeviceKind.E_BIKE, DeviceKind.E_SCOOTER)
RENTAL_KIND_WEIGHTS = (55, 45)

# Prices in minor units: parking per started hour and its daily cap; rental unlock, per
# riding minute and per paused minute; the no-show fee of a booking that was never used.
PARKING_PRICE = {"EUR": (100, 1000), "GBP": (120, 1200), "USD": (150, 1500), "JPY": (200, 1500)}
RENTAL_PRICE = {
    "EUR": (100, 22, 5),
    "GBP": (100, 25, 5),
    "USD": (100, 39, 10),
    "JPY": (150, 30, 10),
}
NO_SHOW_FEE = {"EUR": 100, "GBP": 100, "USD": 100, "JPY": 150}

PAYMENT_STATUSES = tuple(status.value for status in PaymentStatus)
PAID = PaymentStatus.PAID.value
IN_FLIGHT = frozenset(
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
COMMENTS = (
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

# Running totals of the weights, the form ``catalog.pick`` draws from.
PAYMENT_CUMULATIVE = list(accumulate(_PAYMENT_WEIGHTS[PaymentStatus(s)] for s in PAYMENT_STATUSES))
RATING_CUMULATIVE = list(accumulate(_RATING_WEIGHTS))
# Sessions per local hour of the day: quiet nights, a morning and an evening rush.
_HOURLY_WEIGHTS = (2, 1, 0.5, 0.5, 0.5, 1, 3, 7, 9, 7, 5, 5, 6, 6, 5, 6, 7, 9, 8, 6, 5, 4, 3, 2)
HOURLY_CUMULATIVE = list(accumulate(_HOURLY_WEIGHTS))
