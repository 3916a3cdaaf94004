"""Connection settings typed in place: 'false' stored by the CLI becomes false, '15' becomes 15.

Before settings were declared per provider (apps.integrations.schema), `--setting KEY=VALUE` stored
every value as a string, and the string 'false' read as true. The conversion is frozen here (the
keys and types declared when this was written) so a later change of a declaration cannot change
what this migration did. A value that does not parse is left as it was: the typed accessor reads
it as the declared default and logs it, and nothing stored is lost.
"""

import json
from decimal import Decimal, InvalidOperation

from django.db import migrations

BOOLEAN = {"invoice_on_completion", "sub_customers", "multicurrency", "time_bands"}
INTEGER = {"expected_activity_minutes", "max_table_size", "max_matrix_size", "region_margin_m"}
DECIMAL = {"default_tax_rate"}
MAPPING = {"custom_fields"}
TRUE, FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


def _typed(key, value):
    if not isinstance(value, str):
        if key in DECIMAL and isinstance(value, int | float) and not isinstance(value, bool):
            return str(Decimal(str(value)))
        return value
    text = value.strip()
    if key in BOOLEAN and text.lower() in TRUE | FALSE:
        return text.lower() in TRUE
    if key in INTEGER and text.lstrip("+-").isdigit():
        return int(text)
    if key in DECIMAL:
        try:
            number = Decimal(text)
        except InvalidOperation:
            return value
        return str(number) if number.is_finite() else value
    if key in MAPPING:
        try:
            loaded = json.loads(text)
        except ValueError:
            return value
        if isinstance(loaded, dict):
            return {str(k): "" if v is None else str(v) for k, v in loaded.items()}
    return value


def type_settings(apps, schema_editor):
    Connection = apps.get_model("integrations", "IntegrationConnection")
    for connection in Connection.objects.only("pk", "settings").iterator():
        if not isinstance(connection.settings, dict):
            continue
        typed = {key: _typed(key, value) for key, value in connection.settings.items()}
        if typed != connection.settings:
            Connection.objects.filter(pk=connection.pk).update(settings=typed)


class Migration(migrations.Migration):
    dependencies = [("integrations", "0002_sync_reports_severity_and_retry_time")]

    operations = [migrations.RunPython(type_settings, migrations.RunPython.noop)]
