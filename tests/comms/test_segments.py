from decimal import Decimal

import pytest

from apps.comms.segments import estimated_cost, normalise, segment_info


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", "GSM-7", 1),
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("é" * 160, "GSM-7", 1),  # in the GSM-7 basic set
        ("a" * 70 + "ł", "UCS-2", 2),
        ("ł" * 70, "UCS-2", 1),
        ("ł" * 71, "UCS-2", 2),
        ("ł" * 134, "UCS-2", 2),
        ("ł" * 135, "UCS-2", 3),
    ],
)
def test_segment_counts_follow_gsm7_and_ucs2_limits(text, encoding, segments):
    info = segment_info(text)
    assert (info.encoding, info.segments) == (encoding, segments)


def test_extension_characters_count_double():
    assert segment_info("a" * 158 + "€").segments == 1  # 158 + 2 septets = 160
    assert segment_info("a" * 159 + "€").segments == 2
    assert segment_info("{}").units == 4


def test_emoji_outside_the_bmp_take_two_units():
    assert segment_info("😀" * 35).segments == 1
    assert segment_info("😀" * 36).segments == 2


def test_smart_quotes_are_normalised_back_to_gsm7():
    raw = "We\u2019re on our way \u2014 \u201cSam\u201d arrives soon\u2026 " + "x" * 110
    assert segment_info(raw).encoding == "UCS-2"
    assert segment_info(raw).segments == 3
    clean = normalise(raw)
    assert clean.startswith('We\'re on our way - "Sam" arrives soon...')
    assert segment_info(clean).encoding == "GSM-7"
    assert segment_info(clean).segments == 1


def test_cost_is_price_times_segments():
    assert estimated_cost(segment_info("a" * 200), Decimal("0.0079")) == Decimal("0.0158")
