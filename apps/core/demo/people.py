"""Customers, service locations and equipment of the demo company, spread over the Denver metro."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from decimal import Decimal

from apps.core.models import (
    Business,
    Customer,
    Equipment,
    EquipmentKind,
    PaymentTerms,
    Refrigerant,
    ServiceLocation,
)

# The metro box every demo location falls in (tests hold the seed to it).
METRO_LAT = (Decimal("39.55"), Decimal("40.05"))
METRO_LNG = (Decimal("-105.25"), Decimal("-104.70"))
MICRO = Decimal("0.000001")


@dataclasses.dataclass(frozen=True)
class Area:
    city: str
    postal_codes: tuple[str, ...]
    lat: float
    lng: float


AREAS = {
    "capitol-hill": Area("Denver", ("80203", "80218"), 39.7312, -104.9790),
    "highlands": Area("Denver", ("80211", "80212"), 39.7640, -105.0200),
    "washington-park": Area("Denver", ("80209", "80210"), 39.6990, -104.9700),
    "park-hill": Area("Denver", ("80207", "80220"), 39.7530, -104.9230),
    "central-park": Area("Denver", ("80238",), 39.7660, -104.8810),
    "aurora": Area("Aurora", ("80012", "80014"), 39.6900, -104.8370),
    "aurora-east": Area("Aurora", ("80013", "80015"), 39.6380, -104.7700),
    "lakewood": Area("Lakewood", ("80226", "80228"), 39.7030, -105.1100),
    "littleton": Area("Littleton", ("80120", "80123"), 39.6050, -105.0200),
    "englewood": Area("Englewood", ("80110", "80113"), 39.6480, -104.9900),
    "centennial": Area("Centennial", ("80112", "80122"), 39.5900, -104.8800),
    "highlands-ranch": Area("Highlands Ranch", ("80126", "80129"), 39.5700, -104.9700),
    "greenwood-village": Area("Greenwood Village", ("80111",), 39.6180, -104.9100),
    "arvada": Area("Arvada", ("80003", "80005"), 39.8300, -105.0800),
    "westminster": Area("Westminster", ("80030", "80031"), 39.8700, -105.0500),
    "thornton": Area("Thornton", ("80229", "80241"), 39.8900, -104.9600),
    "northglenn": Area("Northglenn", ("80233",), 39.9000, -104.9850),
    "broomfield": Area("Broomfield", ("80020", "80023"), 39.9250, -105.0650),
    "wheat-ridge": Area("Wheat Ridge", ("80033",), 39.7700, -105.0800),
    "golden": Area("Golden", ("80401",), 39.7520, -105.2000),
    "commerce-city": Area("Commerce City", ("80022",), 39.8300, -104.9100),
    "lafayette": Area("Lafayette", ("80026",), 39.9900, -105.0950),
}
AREA_KEYS = sorted(AREAS)


def _words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _words("""James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara
Richard Susan Joseph Jessica Thomas Sarah Christopher Karen Daniel Lisa Matthew Nancy Anthony Betty
Mark Sandra Steven Ashley Paul Emily Andrew Michelle Joshua Amanda Kenneth Melissa Kevin Stephanie
Brian Rebecca George Laura Timothy Sharon Ronald Cynthia Jason Kathleen Ryan Amy Jacob Angela Gary
Shirley Nicholas Brenda Eric Emma Jonathan Anna Larry Pamela Justin Nicole Scott Samantha Brandon
Katherine Benjamin Christine Samuel Rachel Gregory Carolyn Alexander Janet Patrick Maria Frank
Catherine Raymond Heather Jack Diane Dennis Olivia Jerry Julie Tyler Joyce Aaron Victoria Jose
Kelly Adam Lauren Nathan Christina Henry Joan Zachary Evelyn Douglas Judith Peter Megan Kyle Andrea
Noah Cheryl Ethan Hannah Jeremy Jacqueline Walter Martha Christian Gloria Keith Teresa Roger Ann
Terry Sara Austin Madison Sean Frances Gerald Kathryn Carl Janice Harold Jean Dylan Abigail Arthur
Alice Lawrence Judy Jordan Sophia Jesse Grace Bryan Denise Billy Amber Bruce Doris Gabriel Marilyn
Joe Danielle Logan Beverly Alan Isabella Juan Theresa Wayne Diana Elijah Natalie Randy Brittany
Roy Charlotte Vincent Marie Ralph Kayla Eugene Alexis Russell Lori Bobby Mei Hiroshi Aiyana Tenzin
Ngozi Rahul Ana Carlos Guadalupe Miguel Lucia Diego Sofia Thanh Minh Fatima Yusuf""")

LAST_NAMES = _words("""Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez
Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores
Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner
Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz
Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez
Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross
Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales
Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace
Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro
Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman
Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason
Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren
Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne
Grant Dunn Kelley Spencer Hawkins Arnold Pierce Hansen Peters Santos Hart Bradley Knight Lindqvist
Yamamoto Okonkwo Novak Kowalczyk Schultz Larsen Begay Yazzie Tsosie Haddad Nakamura Le Pham""")

COMPANY_NAMES = [
    "Mile High Property Management", "Cherry Creek Dental Group", "Sloan's Lake Brewing Co.",
    "Highlands Yoga Studio", "Golden Triangle Lofts HOA", "Stapleton Early Learning Center",
    "Front Range Auto Care", "Tennyson Street Bakery", "Red Rocks Veterinary Clinic",
    "Aurora Family Medicine", "Platte River Coffee Roasters", "Belmar Fitness Club",
    "Wash Park Montessori", "Lowry Self Storage", "Union Station Barber Co.",
    "Colfax Avenue Diner", "Arvada Tile & Stone", "Broomfield Community Church",
    "Littleton Pediatric Dentistry", "Commerce City Machine Works", "Cherry Hills Golf Pro Shop",
    "Thornton Animal Hospital", "Englewood Print Shop", "Westminster Laundromat",
    "Centennial Insurance Partners", "Five Points Jazz Club", "Lakewood Dance Academy",
    "Golden Ski & Bike", "Northglenn Senior Living", "Highlands Ranch Orthodontics",
    "Park Hill Hardware", "Capitol Hill Apartments LLC", "Lafayette Co-working",
]  # fmt: skip

STREETS = """Pearl St|Logan St|Clarkson St|Downing St|Marion St|Humboldt St|Race St|Vine St|Gaylord St|
York St|Josephine St|Columbine St|Elizabeth St|Milwaukee St|Steele St|Garfield St|Jackson St|
Monaco Pkwy|Dahlia St|Elm St|Fairfax St|Forest St|Glencoe St|Holly St|Ivy St|Jasmine St|Krameria St|
Leyden St|Newport St|Oneida St|Quebec St|Syracuse St|Uinta St|Yosemite St|Aspen Dr|Blue Spruce Ln|
Cedar Ave|Juniper Ct|Larkspur Dr|Pikes Peak Way|Evergreen Pkwy|Sunflower Ct|Bluebell Ave|
Mountain View Dr|Aspen Grove Way|Cottonwood Ln|Wadsworth Blvd|Kipling St|Simms St|Garrison St|
Independence St|Alkire St|Zephyr Ct|Yarrow St|Quail St|Pierce St|Lowell Blvd|Tennyson St|
Zuni St|Federal Blvd|Raleigh St|Osceola St|Perry St|Irving St|Grove St|Bryant St|Colorado Blvd|
Evans Ave|Yale Ave|Dartmouth Ave|Iliff Ave|Jewell Ave|Louisiana Ave|Mississippi Ave|Alameda Ave|
Bayaud Ave|Ellsworth Ave|Cedar St|Hampden Ave|Belleview Ave|Arapahoe Rd|Dry Creek Rd|
Orchard Rd|Mineral Ave|County Line Rd|Chatfield Ave|Bowles Ave|Ken Caryl Ave|Coal Mine Ave|
Wildcat Reserve Pkwy|Broadway|Lincoln St|Sherman St|Grant St|Washington St|Emerson St""".replace(
    "\n", ""
).split("|")

ACCESS_NOTES = [
    "Gate code 4821#.",
    "Friendly dog in the backyard; please close the gate.",
    "Park on the street, the driveway is shared.",
    "Key in the lockbox by the side door, code 1950.",
    "Call 30 minutes before arrival.",
    "Furnace is in the crawlspace; bring a drop light.",
    "Tenant occupied: text the tenant before arriving.",
    "Use the alley entrance; the garage is unlocked.",
    "Elderly homeowner, please knock loudly.",
    "Check in at the front desk, ask for the facilities manager.",
]

# Makers by kind; model numbers get a maker prefix so they read like the real ones.
MAKERS = {
    EquipmentKind.FURNACE: [("Carrier", "59SC5A"), ("Trane", "S9V2B"), ("Lennox", "EL296V"),
                            ("Rheem", "R96VA"), ("Goodman", "GMVC96"), ("Bryant", "915SB")],
    EquipmentKind.AIR_CONDITIONER: [("Carrier", "24ACC6"), ("Trane", "4TTR6"),
                                    ("Lennox", "ML14XC1"), ("Rheem", "RA14AZ"),
                                    ("Goodman", "GSXN4"), ("American Standard", "4A7A4")],
    EquipmentKind.HEAT_PUMP: [("Carrier", "25HCE4"), ("Trane", "4TWR5"), ("Lennox", "EL16XP1"),
                              ("Rheem", "RP15AZ"), ("Goodman", "GSZH5")],
    EquipmentKind.MINI_SPLIT: [("Mitsubishi", "MUZ-FS"), ("Daikin", "RXB"), ("Fujitsu", "AOU")],
    EquipmentKind.BOILER: [("Weil-McLain", "CGA"), ("Burnham", "ES2"), ("Navien", "NHB")],
    EquipmentKind.WATER_HEATER: [("A.O. Smith", "GCR-50"), ("Bradford White", "RG250T6N"),
                                 ("Rheem", "XG50T06"), ("State", "GS650YBRT")],
    EquipmentKind.ELECTRICAL_PANEL: [("Square D", "HOM"), ("Eaton", "BR"), ("Siemens", "PN")],
}  # fmt: skip
TANKLESS_MAKERS = [("Rinnai", "RU199iN"), ("Navien", "NPE-240A2"), ("Noritz", "NRC98-DV")]
WARRANTY_YEARS = {
    EquipmentKind.FURNACE: 10,
    EquipmentKind.AIR_CONDITIONER: 10,
    EquipmentKind.HEAT_PUMP: 10,
    EquipmentKind.MINI_SPLIT: 7,
    EquipmentKind.BOILER: 10,
    EquipmentKind.WATER_HEATER: 6,
    EquipmentKind.ELECTRICAL_PANEL: 10,
}
COOLING = {EquipmentKind.AIR_CONDITIONER, EquipmentKind.HEAT_PUMP, EquipmentKind.MINI_SPLIT}


def refrigerant_for(kind: str, maker: str, year: int) -> str:
    """What a unit of that age would hold: R-22 before the 2010 phase-out of new R-22 systems,
    R-410A until the 2023 AIM Act rule, then R-454B (R-32 for Daikin, Goodman and mini-splits)."""
    if kind not in COOLING:
        return ""
    if year < 2010:
        return Refrigerant.R22
    if year < 2023:
        return Refrigerant.R410A
    if kind == EquipmentKind.MINI_SPLIT or maker in ("Daikin", "Goodman"):
        return Refrigerant.R32
    return Refrigerant.R454B


def phone(rng: random.Random) -> str:
    # 555-0100..0199 is reserved for fiction in every area code, and still valid to phonenumbers.
    return f"+1{rng.choice(('303', '720', '719'))}5550{rng.randint(100, 199)}"


def point(rng: random.Random, area: Area) -> tuple[Decimal, Decimal]:
    lat = Decimal(str(area.lat + rng.uniform(-0.018, 0.018))).quantize(MICRO)
    lng = Decimal(str(area.lng + rng.uniform(-0.022, 0.022))).quantize(MICRO)
    return (
        min(max(lat, METRO_LAT[0] + MICRO), METRO_LAT[1] - MICRO),
        min(max(lng, METRO_LNG[0] + MICRO), METRO_LNG[1] - MICRO),
    )


ADDRESS_FIELDS = ("address_line1", "city", "region", "postal_code", "country")


def address(rng: random.Random, area_key: str) -> dict:
    area = AREAS[area_key]
    lat, lng = point(rng, area)
    return {
        "address_line1": f"{rng.randint(100, 19999)} {rng.choice(STREETS)}",
        "city": area.city,
        "region": "CO",
        "postal_code": rng.choice(area.postal_codes),
        "country": "US",
        "latitude": lat,
        "longitude": lng,
    }


def build_customers(
    rng: random.Random, business: Business, count: int
) -> list[tuple[Customer, dict]]:
    """Unsaved customers with distinct names, each with its geocoded billing address."""
    seen: set[str] = set()
    companies = iter(rng.sample(COMPANY_NAMES, len(COMPANY_NAMES)))
    result = []
    for n in range(count):
        company = next(companies, "") if rng.random() < 0.1 else ""
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        while f"{first} {last}" in seen:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        seen.add(f"{first} {last}")
        home = address(rng, rng.choice(AREA_KEYS))
        domain = rng.choice(("example.com", "example.net", "example.org"))
        customer = Customer(
            business=business,
            display_name=company or f"{first} {last}",
            company_name=company,
            email=f"{first}.{last}{n}@{domain}".lower(),
            phone=phone(rng),
            payment_terms=PaymentTerms.NET_30 if company else PaymentTerms.DUE_ON_RECEIPT,
            sms_opt_in=rng.random() < 0.7,
            email_opt_in=rng.random() < 0.9,
            notes=f"Contact: {first} {last}" if company else "",
            **{f: home[f] for f in ADDRESS_FIELDS},
        )
        result.append((customer, home))
    return result


def build_locations(
    rng: random.Random, business: Business, customers: list[tuple[Customer, dict]]
) -> list[ServiceLocation]:
    """The billing address is the first location; about one in five customers has a second."""
    locations = []
    for customer, home in customers:
        sites = [("Main office" if customer.company_name else "Home", home)]
        if rng.random() < 0.2:
            label = "Warehouse" if customer.company_name else "Rental property"
            sites.append((label, address(rng, rng.choice(AREA_KEYS))))
        for label, where in sites:
            locations.append(
                ServiceLocation(
                    business=business,
                    customer=customer,
                    label=label,
                    latitude=where["latitude"],
                    longitude=where["longitude"],
                    timezone=business.timezone,
                    access_notes=rng.choice(ACCESS_NOTES) if rng.random() < 0.3 else "",
                    **{f: where[f] for f in ADDRESS_FIELDS},
                )
            )
    return locations


def _unit(rng, business, location, kind, today, serials, makers=None) -> Equipment:
    maker, prefix = rng.choice(makers or MAKERS[kind])
    installed = today - dt.timedelta(days=rng.randint(60, 26 * 365))
    serial = (
        f"{installed.year % 100:02d}{installed.isocalendar()[1]:02d}{rng.randint(0, 99999):05d}"
    )
    while (maker, serial) in serials:
        serial = f"{serial[:4]}{rng.randint(0, 99999):05d}"
    serials.add((maker, serial))
    years = WARRANTY_YEARS[kind] + (6 if makers is TANKLESS_MAKERS else 0)
    return Equipment(
        business=business,
        location=location,
        kind=kind,
        manufacturer=maker,
        model_number=f"{prefix}{rng.choice(('024', '036', '048', '060', '080', '100'))}",
        serial_number=serial,
        refrigerant=refrigerant_for(kind, maker, installed.year),
        install_date=installed,
        warranty_expires=installed.replace(year=installed.year + years, day=1),
    )


def build_equipment(
    rng: random.Random, business: Business, locations: list[ServiceLocation], today: dt.date
) -> list[Equipment]:
    serials: set[tuple[str, str]] = set()
    units = []
    for loc in locations:
        kinds = []
        heat = rng.random()
        if heat < 0.07:
            kinds.append(EquipmentKind.BOILER)
        elif heat < 0.95:
            kinds.append(EquipmentKind.FURNACE)
        cool = rng.random()
        if cool < 0.55:
            kinds.append(EquipmentKind.AIR_CONDITIONER)
        elif cool < 0.75:
            kinds.append(EquipmentKind.HEAT_PUMP)
        if rng.random() < 0.08:
            kinds.append(EquipmentKind.MINI_SPLIT)
        if rng.random() < 0.25:
            kinds.append(EquipmentKind.ELECTRICAL_PANEL)
        units.extend(_unit(rng, business, loc, k, today, serials) for k in kinds)
        if rng.random() < 0.92:
            makers = TANKLESS_MAKERS if rng.random() < 0.25 else None
            units.append(
                _unit(rng, business, loc, EquipmentKind.WATER_HEATER, today, serials, makers)
            )
    return units
