"""Manager pages: sign-in required, own business only, and the PDF checked page by page."""

import datetime as dt
import os
import shutil
import subprocess

import pytest
from django.utils import timezone

from apps.monitoring.models import Alert
from tests import factories as f
from tests.monitoring.conftest import log


@pytest.fixture
def activity(books, other_business):
    now = timezone.now()
    log(books, 40, at=now - dt.timedelta(hours=1), spread=dt.timedelta(days=6))
    log(
        books,
        12,
        at=now - dt.timedelta(hours=2),
        outcome="temporary_error",
        message="Read timed out",
    )
    rival = f.IntegrationConnectionFactory(business=other_business, name="RIVALMARK")
    log(rival, 3, at=now - dt.timedelta(hours=1), outcome="rejected", message="RIVALMARK error")
    Alert.objects.create(
        business=other_business,
        kind="degraded",
        severity="warning",
        key="degraded:x",
        title="RIVALMARK alert",
        opened_at=now,
        last_seen_at=now,
    )
    return books


@pytest.mark.parametrize("url", ["/monitoring/", "/monitoring/report/", "/monitoring/report.pdf"])
def test_sign_in_required(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_technicians_are_refused(client, technician):
    client.force_login(technician.user)
    assert client.get("/monitoring/").status_code == 403


def test_dashboard_shows_own_health_only(client, manager, activity):
    client.force_login(manager)
    html = client.get("/monitoring/").content.decode()

    assert 'data-status="degraded"' in html
    assert "Read timed out" in html
    assert "RIVALMARK" not in html


def test_report_page(client, manager, activity):
    client.force_login(manager)
    response = client.get("/monitoring/report/", {"period": "7d"})
    html = response.content.decode()

    assert response.status_code == 200
    assert "<svg" in html and 'class="chart"' in html
    assert "Read timed out" in html
    assert "RIVALMARK" not in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")


def test_report_page_bad_period(client, manager, activity):
    client.force_login(manager)
    response = client.get("/monitoring/report/", {"period": "soon"})
    assert response.status_code == 400
    assert "Period &#x27;soon&#x27; is not understood" in response.content.decode()


PDFTOTEXT, PDFTOPPM = shutil.which("pdftotext"), shutil.which("pdftoppm")
needs_poppler = pytest.mark.skipif(
    not (PDFTOTEXT and PDFTOPPM),
    reason="poppler-utils (pdftotext, pdftoppm) is not installed: apt-get install poppler-utils",
)


@needs_poppler
def test_pdf_report_pages_and_text(client, manager, activity, tmp_path):
    client.force_login(manager)
    response = client.get("/monitoring/report.pdf", {"period": "7d"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="integration-health-acme-hvac-7d-' in response["Content-Disposition"]
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(
        b"".join(response.streaming_content) if response.streaming else response.content
    )

    text = subprocess.run(  # noqa: S603  (fixed argv, our own temp file)
        [PDFTOTEXT, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Integration health report · 7d" in text
    assert "QuickBooks Online · Books" in text
    assert "Read timed out" in text
    assert "RIVALMARK" not in text
    assert "Page 1 of" in text

    subprocess.run(  # noqa: S603
        [PDFTOPPM, "-r", "70", "-png", str(pdf), str(tmp_path / "page")], check=True
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert 1 <= len(pages) <= 3
    assert all(p.stat().st_size > 2000 for p in pages)  # rendered, not blank
    if os.environ.get("MONITORING_SCREENSHOT_DIR"):
        shutil.copy(pages[0], os.path.join(os.environ["MONITORING_SCREENSHOT_DIR"], "pdf-1.png"))
