"""How dates and times read in English (FORMAT_MODULE_PATH): Django's defaults, except that a
datetime carries its zone's abbreviation ("Dec. 8, 2026, 8:00 AM MST"), times use AM/PM, and time
inputs also accept "8:00 AM". Every formatted datetime is first converted to the active zone,
the business's (apps.core.timezones)."""

DATETIME_FORMAT = "N j, Y, g:i A T"
SHORT_DATETIME_FORMAT = "m/d/Y g:i A T"
TIME_FORMAT = "g:i A"
# The first entry is what the admin's time box shows and its "Now" button fills in.
TIME_INPUT_FORMATS = [
    "%H:%M:%S",
    "%H:%M:%S.%f",
    "%H:%M",
    "%I:%M %p",
    "%I:%M%p",
    "%I %p",
]
