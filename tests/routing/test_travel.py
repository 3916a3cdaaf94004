"""Travel times: the embedded model, and OSRM / Google / HERE over HTTP against a local fake."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from apps.integrations.errors import (
    AuthenticationError,
    NotConfigured,
    RateLimited,
    RejectedError,
    TemporaryError,
)
from apps.integrations.models import ConnectionStatus, IntegrationActivity, Outcome
from apps.integrations.providers import provider_for
from apps.routing.travel import EmbeddedTravelTimes, LatLng, travel_times_for
from apps.routing.travel.base import UNREACHABLE_SECONDS, great_circle_metres
from apps.routing.travel.cache import CachedTravelTimes
from apps.routing.travel.vendors import GoogleTravelTimes, HereTravelTimes, OsrmTravelTimes
from tests import factories as f

from .conftest import DENVER, PLACES, at
from .fakes import SPEED, MatrixFake, evening_rush, metres

POINTS = [LatLng(*PLACES[name]) for name in ("downtown", "aurora", "lakewood", "arvada", "golden")]


@pytest.fixture
def fake():
    with MatrixFake() as server:
        yield server


def connection(business, provider, url, **kwargs):
    return f.IntegrationConnectionFactory(
        business=business,
        provider=provider,
        name=kwargs.pop("name", provider),
        api_base_url=url,
        credentials=kwargs.pop("credentials", {"api_key": "AIzaFAKEKEY-not-real-123"}),
        status=kwargs.pop("status", ConnectionStatus.CONNECTED),
        **kwargs,
    )


def expected_seconds(points, factor=1.0):
    return np.array(
        [[factor * metres(astuple(a), astuple(b)) / SPEED for b in points] for a in points]
    )


def astuple(p: LatLng):
    return (p.lat, p.lng)


# --- embedded -----------------------------------------------------------------------------------
def test_embedded_distances_follow_roads_not_crows(plan_date):
    model = EmbeddedTravelTimes(tz="America/Denver")
    matrix = model.matrix(POINTS, departure=at(plan_date, 10, 30))
    crow = great_circle_metres(*(np.array([(p.lat, p.lng) for p in POINTS]),) * 2)
    assert np.allclose(matrix.distances, crow * 1.35)
    assert np.allclose(matrix.durations, matrix.durations.T)
    assert (np.diag(matrix.durations) == 0).all()
    downtown_to_golden = matrix.durations[0, 4] / 60
    assert 20 < downtown_to_golden < 45  # ~17 km crow-flies: half an hour off-peak


def test_rush_hour_is_slower_and_leaving_later_never_arrives_earlier(plan_date):
    matrix = EmbeddedTravelTimes(tz="America/Denver").matrix(POINTS, departure=at(plan_date, 6))
    midday = matrix.leg_seconds(0, 4, at(plan_date, 10, 30))
    morning = matrix.leg_seconds(0, 4, at(plan_date, 8))
    evening = matrix.leg_seconds(0, 4, at(plan_date, 17))
    assert morning > midday * 1.2 and evening > midday * 1.2
    arrivals = []
    for minute in range(6 * 60, 10 * 60, 5):  # across the start and the end of the rush
        leave = at(plan_date, 0) + dt.timedelta(minutes=minute)
        arrivals.append(leave + dt.timedelta(seconds=matrix.leg_seconds(0, 4, leave)))
    assert arrivals == sorted(arrivals)


def test_planning_bounds_hold_for_every_departure_inside_the_window(plan_date):
    model = EmbeddedTravelTimes(tz="America/Denver")
    matrix = model.matrix(POINTS, departure=at(plan_date, 6), until=at(plan_date, 19))
    rows = np.arange(len(POINTS))
    day = at(plan_date, 0)
    after = np.full(len(POINTS), 10.5 * 3600)  # legs between 10:30 and 13:00
    before = np.full(len(POINTS), 13 * 3600)
    bound = matrix.bounded_durations(rows, rows, after, before, day)
    for minute in range(int(10.5 * 60), 13 * 60, 10):
        leave = day + dt.timedelta(minutes=minute)
        leg = matrix.leg_seconds(0, 4, leave)
        if leave + dt.timedelta(seconds=leg) <= day + dt.timedelta(hours=13):
            assert leg <= bound[0, 4] + 1e-6
    # Outside the rush the bound is tighter than the all-day one the solver would otherwise use.
    assert bound[0, 4] < matrix.durations[0, 4]


# --- OSRM ---------------------------------------------------------------------------------------
def test_osrm_table_is_read_in_lng_lat_order_and_stitched_from_blocks(business, fake, plan_date):
    conn = connection(business, "osrm", fake.url, settings={"max_table_size": 4})
    table = OsrmTravelTimes(conn).table(POINTS, POINTS, departure=at(plan_date, 9))
    assert np.allclose(table.durations, expected_seconds(POINTS), atol=0.1)
    calls = fake.of("osrm")
    assert len(calls) > 1  # 5 x 5 does not fit in 4 coordinates
    for call in calls:
        coords = call.path.split("/", 4)[4].split(";")
        assert len(coords) <= 4
        lng, lat = (float(v) for v in coords[0].split(","))
        assert -106 < lng < -104 and 39 < lat < 41
        assert call.query["annotations"] == ["duration,distance"]
    assert IntegrationActivity.objects.filter(
        connection=conn, outcome=Outcome.SUCCESS, operation="GET table"
    ).count() == len(calls)


def test_osrm_no_route_becomes_unreachable(business, fake, plan_date):
    fake.unroutable.add(((39.7392, -104.9903), (39.7294, -104.8319)))
    conn = connection(business, "osrm", fake.url)
    table = OsrmTravelTimes(conn).table(POINTS[:2], POINTS[:2], departure=at(plan_date, 9))
    assert table.durations[0, 1] == UNREACHABLE_SECONDS
    assert table.durations[1, 0] < UNREACHABLE_SECONDS


def test_osrm_errors_map_to_the_error_tree(business, fake, plan_date):
    conn = connection(business, "osrm", fake.url)
    fake.fail("osrm", 400, {"code": "TooBig", "message": "Too many table coordinates"})
    with pytest.raises(RejectedError, match="TooBig"):
        OsrmTravelTimes(conn).table(POINTS, POINTS, departure=at(plan_date, 9))
    fake.fail("osrm", 503, {"code": "Busy"})
    with pytest.raises(TemporaryError):
        OsrmTravelTimes(conn).table(POINTS, POINTS, departure=at(plan_date, 9))
    outcomes = set(IntegrationActivity.objects.values_list("outcome", flat=True))
    assert {Outcome.REJECTED, Outcome.TEMPORARY_ERROR} <= outcomes


# --- Google -------------------------------------------------------------------------------------
def test_google_uses_traffic_durations_and_respects_element_limits(business, fake, plan_date):
    conn = connection(business, "google_maps", fake.url)
    points = [LatLng(39.6 + 0.01 * i, -105.0 + 0.005 * i) for i in range(30)]
    table = GoogleTravelTimes(conn).table(points, points, departure=at(plan_date, 8))
    assert np.allclose(table.durations, expected_seconds(points, 1.2), atol=1.0)
    for call in fake.of("google"):
        origins = call.query["origins"][0].split("|")
        destinations = call.query["destinations"][0].split("|")
        assert len(origins) <= 25 and len(destinations) <= 25
        assert len(origins) * len(destinations) <= 100
        assert call.query["key"] == ["AIzaFAKEKEY-not-real-123"]
        assert int(call.query["departure_time"][0]) >= int(at(plan_date, 8).timestamp())
    assert len(fake.of("google")) == 9  # 30 x 30 in the fewest legal blocks: 10 x 10


def test_google_refusals_are_auth_errors_and_mark_the_connection(business, fake, plan_date):
    conn = connection(business, "google_maps", fake.url)
    fake.fail("google", 200, {"status": "REQUEST_DENIED", "error_message": "The key is invalid."})
    with pytest.raises(AuthenticationError, match="REQUEST_DENIED"):
        GoogleTravelTimes(conn).table(POINTS, POINTS, departure=at(plan_date, 9))
    conn.refresh_from_db()
    assert conn.status == ConnectionStatus.NEEDS_RECONNECT
    assert "AIzaFAKEKEY" not in conn.last_error
    fake.fail("google", 200, {"status": "OVER_QUERY_LIMIT", "error_message": "Slow down."})
    with pytest.raises(RateLimited):
        GoogleTravelTimes(conn).table(POINTS, POINTS, departure=at(plan_date, 9))
    assert IntegrationActivity.objects.filter(outcome=Outcome.AUTH_ERROR).count() == 1


def test_google_zero_results_is_unreachable(business, fake, plan_date):
    fake.unroutable.add(((39.7392, -104.9903), (39.7294, -104.8319)))
    conn = connection(business, "google_maps", fake.url)
    table = GoogleTravelTimes(conn).table(POINTS[:2], POINTS[:2], departure=at(plan_date, 9))
    assert table.durations[0, 1] == UNREACHABLE_SECONDS


# --- HERE ---------------------------------------------------------------------------------------
def test_here_posts_a_region_matrix_request_and_reads_row_major(business, fake, plan_date):
    conn = connection(business, "here", fake.url, credentials={"api_key": "here-key-123456"})
    fake.unroutable.add(((39.7047, -105.0814), (39.8028, -105.0875)))  # lakewood -> arvada
    table = HereTravelTimes(conn).table(POINTS, POINTS[:4], departure=at(plan_date, 9))
    expected = expected_seconds(POINTS)[:, :4]
    expected[2, 3] = UNREACHABLE_SECONDS
    assert np.allclose(table.durations, expected, atol=1.0)
    (call,) = fake.of("here")
    assert call.method == "POST" and call.query["apiKey"] == ["here-key-123456"]
    assert call.query["async"] == ["false"]
    assert call.body["regionDefinition"]["type"] == "autoCircle"
    assert call.body["matrixAttributes"] == ["travelTimes", "distances"]
    utc = at(plan_date, 9).astimezone(dt.UTC)
    assert call.body["departureTime"] == utc.isoformat(timespec="seconds")
    assert call.body["origins"][0] == {"lat": POINTS[0].lat, "lng": POINTS[0].lng}


def test_here_auth_failure(business, fake, plan_date):
    conn = connection(business, "here", fake.url)
    fake.fail("here", 401, {"error": "Unauthorized", "error_description": "apiKey invalid"})
    with pytest.raises(AuthenticationError, match="apiKey invalid"):
        HereTravelTimes(conn).table(POINTS, POINTS, departure=at(plan_date, 9))


# --- cache, choice, connection test -------------------------------------------------------------
def test_cache_reuses_matrices_and_fetches_only_new_points(business, fake, plan_date):
    conn = connection(business, "osrm", fake.url)
    cached = CachedTravelTimes(OsrmTravelTimes(conn))
    first = cached.matrix(POINTS[:4], departure=at(plan_date, 9))
    assert len(fake.of("osrm")) == 1
    again = cached.matrix(POINTS[:4], departure=at(plan_date, 14))  # OSRM: hour does not matter
    assert len(fake.of("osrm")) == 1 and np.allclose(first.durations, again.durations)
    grown = cached.matrix(POINTS, departure=at(plan_date, 9))
    calls = fake.of("osrm")[1:]
    assert len(calls) == 2  # the new point to all, and the old points to the new one
    assert {len(c.query["sources"][0].split(";")) for c in calls} == {1, 4}
    assert np.allclose(grown.durations, expected_seconds(POINTS), atol=0.2)


def test_cache_is_per_traffic_band_for_traffic_aware_vendors(business, fake, plan_date):
    conn = connection(business, "here", fake.url)
    cached = CachedTravelTimes(HereTravelTimes(conn), tz=DENVER)
    cached.matrix(POINTS, departure=at(plan_date, 9))
    cached.matrix(POINTS, departure=at(plan_date, 9, 40))  # same band (09:00-10:00)
    assert len(fake.of("here")) == 1
    cached.matrix(POINTS, departure=at(plan_date, 17))
    assert len(fake.of("here")) == 2


@pytest.mark.parametrize(("provider", "vendor"), [("google_maps", "google"), ("here", "here")])
def test_vendor_matrices_are_asked_per_traffic_band(business, fake, plan_date, provider, vendor):
    fake.traffic = evening_rush
    conn = connection(business, provider, fake.url)
    adapter = GoogleTravelTimes(conn) if provider == "google_maps" else HereTravelTimes(conn)
    cached = CachedTravelTimes(adapter, tz=DENVER)
    matrix = cached.matrix(POINTS, departure=at(plan_date, 7), until=at(plan_date, 19))
    # The embedded model's bands from 07:00 to 19:00: 7, 9, 10, 11:30, 13:30, 15:30, 16, 18:30.
    asked = sorted(d.astimezone(DENVER) for d in fake.departures[vendor])
    assert len(asked) == 8 == len(fake.of(vendor))
    assert asked[0] == at(plan_date, 8) and asked[-1] == at(plan_date, 19)  # band middles
    assert [d for d in asked if dt.time(16) <= d.time() < dt.time(18, 30)] == [
        at(plan_date, 17, 15)
    ]
    free = expected_seconds(POINTS)
    assert np.allclose(matrix.leg_seconds(0, 4, at(plan_date, 10, 30)), free[0, 4], atol=1)
    assert np.allclose(matrix.leg_seconds(0, 4, at(plan_date, 17)), 2 * free[0, 4], atol=1)
    assert np.allclose(matrix.durations, 2 * free, atol=1)  # no clock: the slowest band
    rows = np.arange(len(POINTS))
    midday = matrix.bounded_durations(
        rows, rows, np.full(5, 10 * 3600.0), np.full(5, 12 * 3600.0), at(plan_date, 0)
    )
    assert np.allclose(midday, free, atol=1)  # a leg between 10:00 and 12:00 never sees rush
    evening = matrix.bounded_durations(
        rows, rows, np.full(5, 15 * 3600.0), np.full(5, 17 * 3600.0), at(plan_date, 0)
    )
    assert np.allclose(evening, 2 * free, atol=1)
    again = cached.matrix(POINTS, departure=at(plan_date, 7), until=at(plan_date, 19))
    assert len(fake.of(vendor)) == 8  # every band from the cache
    assert np.allclose(again.leg_seconds(0, 4, at(plan_date, 17)), 2 * free[0, 4], atol=1)


def test_a_connection_can_ask_for_one_band_only(business, fake, plan_date):
    fake.traffic = evening_rush
    conn = connection(business, "google_maps", fake.url, settings={"time_bands": False})
    cached = CachedTravelTimes(GoogleTravelTimes(conn), tz=DENVER)
    matrix = cached.matrix(POINTS, departure=at(plan_date, 8), until=at(plan_date, 19))
    assert len(fake.of("google")) == 1 and len(matrix.bands) == 1
    assert matrix.leg_seconds(0, 4, at(plan_date, 17)) == matrix.leg_seconds(0, 4, at(plan_date, 8))


def test_the_business_connection_decides_the_source(business, other_business, fake):
    assert travel_times_for(business).provider.source == "embedded"
    connection(business, "google_maps", fake.url)
    connection(business, "osrm", fake.url, status=ConnectionStatus.DISABLED)
    assert travel_times_for(business).provider.source == "google_maps"
    connection(business, "osrm", fake.url, name="OSRM live")
    assert travel_times_for(business).provider.source == "osrm"  # own server first
    assert travel_times_for(other_business).provider.source == "embedded"


def test_connection_checks_call_the_vendor(business, fake):
    for key in ("osrm", "google_maps", "here"):
        result = provider_for(connection(business, key, fake.url)).test_connection()
        assert result.ok and "min" in result.message
    assert {r.vendor for r in fake.requests} == {"osrm", "google", "here"}
    bare = connection(business, "osrm", "", name="no url")
    with pytest.raises(NotConfigured, match="base URL"):
        provider_for(bare).test_connection()
    keyless = connection(business, "here", fake.url, name="no key", credentials={})
    with pytest.raises(NotConfigured, match="api_key"):
        provider_for(keyless).test_connection()


def test_local_times_are_used_for_traffic(plan_date):
    # 08:00 in Denver is rush hour whatever the server's zone; 08:00 UTC is the middle of the night.
    model = EmbeddedTravelTimes(tz="America/Denver")
    matrix = model.matrix(POINTS, departure=at(plan_date, 6))
    local_rush = matrix.leg_seconds(0, 4, at(plan_date, 8))
    utc_eight = dt.datetime.combine(plan_date, dt.time(8), tzinfo=dt.UTC)
    assert utc_eight.astimezone(DENVER).hour in (1, 2)
    assert matrix.leg_seconds(0, 4, utc_eight) < local_rush
