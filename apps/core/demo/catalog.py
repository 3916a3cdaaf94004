"""Reference data of the demo company: trades, skills, parts, the technician roster, job types.

Plain tuples, so the seed stays deterministic and a reader can check the data at a glance.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from apps.core.models import Skill

# (code, name, revenue category, default duration in minutes)
CATEGORIES = [
    ("hvac", "HVAC", "HVAC service revenue", 120),
    ("plumbing", "Plumbing", "Plumbing service revenue", 90),
    ("electrical", "Electrical", "Electrical service revenue", 90),
    ("maintenance", "Maintenance", "Maintenance agreement revenue", 60),
]

CERT, SKILL = Skill.Kind.CERTIFICATION, Skill.Kind.SKILL
SKILLS = [
    ("epa-608-universal", "EPA 608 Universal", CERT),
    ("nate", "NATE certified", CERT),
    ("gas-fitting", "Gas fitting licence", CERT),
    ("backflow-testing", "Backflow prevention assembly tester", CERT),
    ("journeyman-plumber", "Journeyman plumber", CERT),
    ("journeyman-electrician", "Journeyman electrician", CERT),
    ("master-electrician", "Master electrician", CERT),
    ("furnaces", "Furnace repair", SKILL),
    ("air-conditioning", "Air conditioning repair", SKILL),
    ("heat-pumps", "Heat pumps", SKILL),
    ("mini-splits", "Ductless mini-splits", SKILL),
    ("boilers", "Boilers and hydronics", SKILL),
    ("tank-water-heaters", "Tank water heaters", SKILL),
    ("tankless-water-heaters", "Tankless water heaters", SKILL),
    ("drain-cleaning", "Drain cleaning", SKILL),
    ("sewer-camera", "Sewer camera inspection", SKILL),
    ("panel-upgrades", "Panel upgrades", SKILL),
    ("ev-chargers", "EV charger installation", SKILL),
]

# (sku, name, unit price, category code)
PARTS = [
    ("CAP-45-5", "Dual run capacitor 45/5 uF 440V", "38.50", "hvac"),
    ("CAP-35-5", "Dual run capacitor 35/5 uF 440V", "34.00", "hvac"),
    ("CAP-10", "Run capacitor 10 uF 370V", "18.00", "hvac"),
    ("CONT-1P-30", "Contactor 1-pole 30A, 24V coil", "42.00", "hvac"),
    ("CONT-2P-40", "Contactor 2-pole 40A, 24V coil", "58.00", "hvac"),
    ("IGN-HSI", "Hot surface igniter, silicon nitride", "64.00", "hvac"),
    ("FLM-SENSOR", "Flame sensor", "28.00", "hvac"),
    ("PRS-SWITCH", "Furnace pressure switch", "76.00", "hvac"),
    ("INDUCER", "Inducer motor assembly", "420.00", "hvac"),
    ("CTRL-BOARD", "Furnace control board", "365.00", "hvac"),
    ("MTR-COND-14", "Condenser fan motor 1/4 HP", "245.00", "hvac"),
    ("MTR-ECM-12", "ECM blower motor 1/2 HP", "685.00", "hvac"),
    ("REF-410A-LB", "R-410A refrigerant, per lb", "95.00", "hvac"),
    ("REF-454B-LB", "R-454B refrigerant, per lb", "120.00", "hvac"),
    ("REF-32-LB", "R-32 refrigerant, per lb", "110.00", "hvac"),
    ("REF-22-LB", "R-22 refrigerant (reclaimed), per lb", "185.00", "hvac"),
    ("TXV-410A", "TXV valve, R-410A", "310.00", "hvac"),
    ("DRIER-38", "Liquid line filter drier 3/8 in", "38.00", "hvac"),
    ("FUSE-3A", "3A blade fuse", "3.50", "hvac"),
    ("FLT-16251", "Pleated filter 16x25x1 MERV 11", "24.00", "maintenance"),
    ("FLT-20254", "Media filter 20x25x4 MERV 13", "69.00", "maintenance"),
    ("COND-PUMP", "Condensate pump", "95.00", "hvac"),
    ("TSTAT-WIFI", "Smart Wi-Fi thermostat", "289.00", "hvac"),
    ("LINESET-25", "Mini-split line set 1/4 x 1/2 in, 25 ft", "145.00", "hvac"),
    ("WH-ELEM-4500", "Water heater element 4500W 240V", "42.00", "plumbing"),
    ("WH-TSTAT", "Water heater thermostat", "38.00", "plumbing"),
    ("WH-ANODE", "Anode rod, magnesium", "48.00", "plumbing"),
    ("WH-TPR-34", "T&P relief valve 3/4 in", "36.00", "plumbing"),
    ("WH-GASVALVE", "Water heater gas control valve", "285.00", "plumbing"),
    ("TANKLESS-KIT", "Tankless descaling kit", "38.00", "plumbing"),
    ("PRV-34", "Pressure reducing valve 3/4 in", "168.00", "plumbing"),
    ("EXP-TANK-2", "Thermal expansion tank 2 gal", "89.00", "plumbing"),
    ("BFP-KIT-34", "Backflow assembly repair kit 3/4 in", "112.00", "plumbing"),
    ("BALLVALVE-34", "Full-port ball valve 3/4 in", "28.00", "plumbing"),
    ("PEX-12-FT", "PEX-A pipe 1/2 in, per ft", "1.85", "plumbing"),
    ("PUSHFIT-12", "Push-fit coupling 1/2 in", "9.75", "plumbing"),
    ("SUPPLY-38", "Braided supply line 3/8 x 12 in", "11.00", "plumbing"),
    ("FILL-VALVE", "Toilet fill valve", "24.00", "plumbing"),
    ("CARTRIDGE", "Faucet cartridge", "46.00", "plumbing"),
    ("DISPOSAL-34", "Garbage disposal 3/4 HP", "329.00", "plumbing"),
    ("SUMP-13", "Sump pump 1/3 HP", "265.00", "plumbing"),
    ("BRKR-20", "Breaker 20A single-pole", "18.00", "electrical"),
    ("BRKR-AFCI-20", "Breaker 20A AFCI", "62.00", "electrical"),
    ("GFCI-20", "GFCI receptacle 20A", "28.00", "electrical"),
    ("SURGE-WH", "Whole-home surge protector", "245.00", "electrical"),
    ("EVSE-48", "Level 2 EV charger 48A", "699.00", "electrical"),
    ("NMB-63-FT", "6/3 NM-B cable, per ft", "4.10", "electrical"),
]

# Skill sets of the roster's trades. A technician's skills are one archetype, sometimes plus extras.
ARCHETYPES = {
    "hvac_lead": [
        "epa-608-universal", "nate", "gas-fitting", "furnaces", "air-conditioning",
        "heat-pumps", "mini-splits", "boilers",
    ],
    "hvac": ["epa-608-universal", "gas-fitting", "furnaces", "air-conditioning", "heat-pumps"],
    "hvac_install": ["epa-608-universal", "air-conditioning", "heat-pumps", "mini-splits"],
    "plumber": [
        "journeyman-plumber", "gas-fitting", "tank-water-heaters", "tankless-water-heaters",
        "drain-cleaning",
    ],
    "drains": ["drain-cleaning", "sewer-camera", "journeyman-plumber"],
    "backflow": ["journeyman-plumber", "backflow-testing", "tank-water-heaters", "drain-cleaning"],
    "electrician": ["journeyman-electrician", "ev-chargers"],
    "master_electrician": [
        "master-electrician", "journeyman-electrician", "panel-upgrades", "ev-chargers",
    ],
}  # fmt: skip

SHIFTS = {
    "early": (dt.time(7, 0), dt.time(15, 30)),
    "day": (dt.time(8, 0), dt.time(17, 0)),
    "late": (dt.time(10, 0), dt.time(19, 0)),
}


@dataclasses.dataclass(frozen=True)
class Tech:
    first: str
    last: str
    archetype: str
    shift: str
    home_area: str  # a key of people.AREAS
    extras: tuple[str, ...] = ()


ROSTER = [
    Tech("Marcus", "Rivera", "hvac_lead", "day", "arvada", ("tankless-water-heaters",)),
    Tech("Jenna", "Kowalski", "hvac_lead", "early", "aurora-east"),
    Tech("Tyler", "Nguyen", "hvac", "day", "lakewood"),
    Tech("Brianna", "Okafor", "hvac", "late", "thornton"),
    Tech("Cody", "Whitaker", "hvac", "early", "littleton"),
    Tech("Hector", "Salazar", "hvac", "day", "commerce-city", ("nate",)),
    Tech("Priya", "Raman", "hvac_install", "day", "highlands-ranch"),
    Tech("Sean", "Gallagher", "hvac_install", "late", "westminster", ("boilers",)),
    Tech("Andre", "Washington", "plumber", "early", "park-hill", ("sewer-camera",)),
    Tech("Kayla", "Brennan", "plumber", "day", "wheat-ridge"),
    Tech("Luis", "Martinez", "plumber", "late", "aurora"),
    Tech("Derek", "Holm", "plumber", "day", "broomfield", ("backflow-testing",)),
    Tech("Tommy", "Tran", "drains", "early", "englewood"),
    Tech("Jasmine", "Ortiz", "drains", "late", "northglenn"),
    Tech("Walt", "Jorgensen", "backflow", "day", "golden"),
    Tech("Nick", "Papadakis", "electrician", "day", "centennial"),
    Tech("Rachel", "Stein", "master_electrician", "early", "capitol-hill"),
    Tech("Omar", "Haddad", "electrician", "late", "lafayette", ("panel-upgrades",)),
]

# (username, first, last, role)
OFFICE = [
    ("dana", "Dana", "Whitfield", "dispatcher"),
    ("rosa", "Rosa", "Delgado", "dispatcher"),
    ("greg", "Greg", "Hanson", "manager"),
]


@dataclasses.dataclass(frozen=True)
class JobType:
    category: str
    summary: str
    description: str
    skills: tuple[str, ...]
    minutes: int
    labour: str  # flat labour price
    parts: tuple[tuple[str, str], ...] = ()  # (sku, quantity)
    equipment: str = ""  # EquipmentKind the job concerns
    emergency: bool = False  # the kind of call that comes in as an emergency


JOB_TYPES = [
    JobType("hvac", "No heat: furnace not igniting", "Inducer runs, no ignition; flashing code 3.",
            ("furnaces", "gas-fitting"), 90, "189.00", (("IGN-HSI", "1"), ("FLM-SENSOR", "1")),
            "furnace", emergency=True),
    JobType("hvac", "Furnace short cycling", "Shuts off after two minutes; flame sensor suspected.",
            ("furnaces",), 90, "149.00", (("FLM-SENSOR", "1"),), "furnace"),
    JobType("hvac", "Furnace inducer motor noisy", "Loud whine at start-up.",
            ("furnaces", "gas-fitting"), 120, "225.00", (("INDUCER", "1"),), "furnace"),
    JobType("hvac", "AC not cooling", "Outdoor fan not spinning; warm air from vents.",
            ("air-conditioning", "epa-608-universal"), 90, "169.00",
            (("CAP-45-5", "1"), ("CONT-1P-30", "1")), "air_conditioner"),
    JobType("hvac", "AC low on refrigerant", "Iced suction line; leak search and recharge.",
            ("air-conditioning", "epa-608-universal"), 150, "249.00",
            (("REF-410A-LB", "3"), ("DRIER-38", "1")), "air_conditioner"),
    JobType("hvac", "Heat pump stuck in defrost", "Outdoor unit iced over, aux heat running.",
            ("heat-pumps", "epa-608-universal"), 120, "199.00", (("CTRL-BOARD", "1"),),
            "heat_pump"),
    JobType("hvac", "Ductless mini-split install", "Two-zone install, 12k BTU heads.",
            ("mini-splits", "epa-608-universal"), 360, "1450.00", (("LINESET-25", "2"),),
            "mini_split"),
    JobType("hvac", "Boiler not heating", "No heat on second floor zone.",
            ("boilers", "gas-fitting"), 120, "219.00", (("PRS-SWITCH", "1"),), "boiler"),
    JobType("hvac", "Carbon monoxide alarm sounding", "Family out of the house; check furnace.",
            ("furnaces", "gas-fitting"), 60, "225.00", (), "furnace", emergency=True),
    JobType("hvac", "Thermostat replacement", "Customer wants a smart thermostat.",
            ("furnaces",), 60, "95.00", (("TSTAT-WIFI", "1"),), "furnace"),
    JobType("maintenance", "Furnace tune-up", "Annual safety inspection and cleaning.",
            ("furnaces",), 60, "129.00", (("FLT-16251", "1"),), "furnace"),
    JobType("maintenance", "AC tune-up", "Spring check: coils, charge, capacitor.",
            ("air-conditioning", "epa-608-universal"), 60, "129.00", (("FLT-16251", "1"),),
            "air_conditioner"),
    JobType("plumbing", "Water heater leaking", "Water around the base of the tank.",
            ("tank-water-heaters", "journeyman-plumber"), 90, "175.00",
            (("WH-TPR-34", "1"),), "water_heater", emergency=True),
    JobType("plumbing", "No hot water", "Electric water heater, lower element suspected.",
            ("tank-water-heaters",), 90, "159.00", (("WH-ELEM-4500", "1"), ("WH-TSTAT", "1")),
            "water_heater"),
    JobType("plumbing", "Tankless unit error code", "Error 11, no ignition; descale due.",
            ("tankless-water-heaters", "gas-fitting"), 120, "219.00", (("TANKLESS-KIT", "1"),),
            "water_heater"),
    JobType("plumbing", "Replace 50 gal water heater", "Gas, atmospheric vent, like for like.",
            ("tank-water-heaters", "journeyman-plumber", "gas-fitting"), 240, "850.00",
            (("EXP-TANK-2", "1"), ("BALLVALVE-34", "1")), "water_heater"),
    JobType("plumbing", "Kitchen drain clogged", "Sink backs up into the dishwasher.",
            ("drain-cleaning",), 60, "189.00"),
    JobType("plumbing", "Main sewer line backup", "Water coming up the basement floor drain.",
            ("drain-cleaning", "sewer-camera"), 150, "395.00", (), emergency=True),
    JobType("plumbing", "Burst pipe in basement", "Water shut off at the main by the customer.",
            ("journeyman-plumber",), 120, "295.00", (("PEX-12-FT", "10"), ("PUSHFIT-12", "2")),
            emergency=True),
    JobType("plumbing", "Annual backflow test", "Irrigation RPZ, city test report due.",
            ("backflow-testing",), 45, "95.00"),
    JobType("plumbing", "High water pressure", "Pressure at 110 psi; replace the PRV.",
            ("journeyman-plumber",), 90, "195.00", (("PRV-34", "1"),)),
    JobType("plumbing", "Running toilet", "Upstairs toilet runs all night.",
            ("journeyman-plumber",), 45, "115.00", (("FILL-VALVE", "1"),)),
    JobType("electrical", "Breaker keeps tripping", "Kitchen circuit trips with the microwave.",
            ("journeyman-electrician",), 90, "165.00", (("BRKR-AFCI-20", "1"),),
            "electrical_panel"),
    JobType("electrical", "Partial power outage", "Half the house has no power.",
            ("journeyman-electrician",), 90, "245.00", (), "electrical_panel", emergency=True),
    JobType("electrical", "EV charger install", "Level 2 charger in the garage, 60A circuit.",
            ("journeyman-electrician", "ev-chargers"), 240, "650.00",
            (("EVSE-48", "1"), ("NMB-63-FT", "30")), "electrical_panel"),
    JobType("electrical", "Panel upgrade to 200A", "Old 100A panel, adding a heat pump.",
            ("master-electrician", "panel-upgrades"), 420, "2450.00", (("SURGE-WH", "1"),),
            "electrical_panel"),
    JobType("electrical", "Add GFCI outlets", "Bathroom and garage outlets not protected.",
            ("journeyman-electrician",), 60, "125.00", (("GFCI-20", "3"),)),
]  # fmt: skip

DIAGNOSTIC_FEE = Decimal("89.00")
EMERGENCY_FEE = Decimal("150.00")
# Denver combined sales tax; in Colorado labour is not taxed, parts are.
SALES_TAX_RATE = Decimal("8.8100")
# The refrigerant part that recharges a unit holding each refrigerant.
REFRIGERANT_PARTS = {
    "R-410A": "REF-410A-LB",
    "R-454B": "REF-454B-LB",
    "R-32": "REF-32-LB",
    "R-22": "REF-22-LB",
}
