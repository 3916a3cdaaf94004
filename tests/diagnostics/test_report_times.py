"""The diagnostic report (screen, email, PDF) reads in the business's clock even when a worker,
whose zone is UTC, renders it."""

import datetime as dt
import re
import uuid
import zoneinfo

from django.utils import timezone
from django.utils.dateformat import format as date_format

from apps.diagnostics.models import Reading
from apps.diagnostics.services.reports import report_render_html

KOLKATA = zoneinfo.ZoneInfo("Asia/Kolkata")


def test_report_times_are_local_with_their_zone(work_order, business):
    business.timezone = "Asia/Kolkata"
    business.save()
    work_order.business.refresh_from_db()
    taken = (timezone.now() - dt.timedelta(hours=3)).replace(second=0, microsecond=0)
    Reading.objects.create(
        business=business,
        client_id=uuid.uuid4(),
        work_order=work_order,
        quantity="voltage",
        value="240.5",
        unit="V",
        capture_method="manual",
        taken_at=taken,
    )
    assert timezone.get_current_timezone_name() == "UTC"  # as in a worker
    html = report_render_html(work_order=work_order)
    local = timezone.localtime(taken, KOLKATA)
    assert f"<td>{date_format(local, 'Y-m-d g:i A')} IST</td>" in html
    generated = re.search(r"Generated (\d{4}-\d\d-\d\d \d+:\d\d [AP]M \w+)", html).group(1)
    assert generated.endswith(" IST")
