"""What each provider takes, in words: `manage.py integrations describe` and the generated
docs/integrations-reference.md both come from the providers' declarations (apps.integrations.schema).

Regenerate the page after changing a declaration (a test fails until it matches):

    python manage.py integrations describe --markdown > docs/integrations-reference.md
"""

from __future__ import annotations

import json

from apps.integrations.providers import Provider, registered_providers

HEADER = """# Integration set-up reference

Generated from the providers' declarations by
`python manage.py integrations describe --markdown > docs/integrations-reference.md`; do not edit
by hand (a test compares it with the declarations). `python manage.py integrations describe
PROVIDER` prints one provider's part, `--json` the same as data.

- **Credentials** go in the connection's encrypted credentials: `integrations setup
  --credentials-file FILE` (a JSON object of these keys; `-` reads stdin) or `--credential
  KEY=VALUE`, or the admin's *Replace credentials*. Unknown keys are refused. Keys marked *OAuth*
  are written by “Connect to …”; give them in a file only to import a sign-in made elsewhere.
  Secret ones are shown masked everywhere, never in full.
- **Settings**: `integrations setup --setting KEY=VALUE` (repeatable), the admin's settings field,
  or the API. Values are parsed into their type (`true`/`false`, `yes`/`no`, `1`/`0` for
  booleans; `KEY=` returns a setting to its default); unknown keys and bad values are refused with
  the reason and exit code 1, and nothing is stored. Read-only ones are recorded by the
  connection itself.
- **Base URL** (`--base-url`, admin *API base URL*): only to reach a sandbox, gateway or test
  server; empty means the vendor's own address.
"""


def _schedule_words(schedule: dict) -> str:
    if "every_minutes" in schedule:
        return f"every {schedule['every_minutes']} min"
    return f"cron `{schedule['crontab']}` (business time zone)"


def provider_reference(cls: type[Provider]) -> dict:
    return {
        "key": cls.key,
        "name": cls.display_name or cls.key,
        "domain": cls.domain,
        "default_base_url": cls.default_base_url,
        "base_url_help": cls.base_url_help,
        "credentials": [f.describe() for f in cls.credentials_schema()],
        "settings": [f.describe() for f in cls.settings_schema()],
        "resources": dict(cls.resources),
        "default_schedules": {k: dict(v) for k, v in cls.default_schedules.items()},
        "backfill_resources": list(cls.backfill_resources),
    }


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _default_words(field: dict) -> str:
    value = field["default"]
    if value is None or value == "":
        return "(none)"
    return f"`{json.dumps(value) if not isinstance(value, str) else value}`"


def _type_words(field: dict) -> str:
    if field["choices"]:
        return "one of " + ", ".join(f"`{c}`" for c in field["choices"])
    words = field["type"]
    if field["keys"]:
        words += " of " + ", ".join(f"`{k}`" for k in field["keys"])
    bounds = [f"≥ {field['min']}" if field["min"] is not None else ""]
    bounds.append(f"≤ {field['max']}" if field["max"] is not None else "")
    return " ".join([words, *[b for b in bounds if b]])


def provider_markdown(cls: type[Provider]) -> str:
    ref = provider_reference(cls)
    lines = [f"## {ref['name']} (`{ref['key']}`, {ref['domain']})", ""]
    base = ref["default_base_url"] or "(none)"
    lines.append(f"Base URL: default `{base}`. {ref['base_url_help']}".rstrip())
    lines.append("")
    if ref["credentials"]:
        lines += ["| credential | required | secret | what it is |", "|---|---|---|---|"]
        for c in ref["credentials"]:
            what = c["label"] + (f": {c['help']}" if c["help"] else "")
            lines.append(
                f"| `{c['name']}` | {'yes' if c['required'] else 'no'}"
                f"{' (OAuth)' if c['from_oauth'] else ''} | {'yes' if c['secret'] else 'no'} "
                f"| {_cell(what)} |"
            )
    else:
        lines.append("Credentials: none.")
    lines += ["", "| setting | type | default | what it does |", "|---|---|---|---|"]
    for f in ref["settings"]:
        what = f["help"] + ("" if f["editable"] else " Read-only.")
        lines.append(
            f"| `{f['name']}` | {_cell(_type_words(f))} | {_cell(_default_words(f))} "
            f"| {_cell(what)} |"
        )
    if ref["resources"]:
        schedules = ref["default_schedules"]
        parts = [
            f"`{r}` ({d}{', ' + _schedule_words(schedules[r]) if r in schedules else ''})"
            for r, d in ref["resources"].items()
        ]
        lines += ["", "Syncs: " + ", ".join(parts) + "."]
        if schedules:
            lines.append(
                "The schedules are created with the connection, whichever way it is set up."
            )
    if ref["backfill_resources"]:
        lines.append(
            "Backfill: "
            + ", ".join(f"`{r}`" for r in ref["backfill_resources"])
            + " (`integrations sync ID --since YYYY-MM-DD`)."
        )
    return "\n".join(lines) + "\n"


def reference_markdown() -> str:
    return HEADER + "".join("\n" + provider_markdown(cls) for cls in registered_providers())


def setup_epilog() -> str:
    """The keys per provider, short, for `integrations setup --help`."""
    lines = ["Credential keys and settings per provider (details: integrations describe PROVIDER):"]
    for cls in registered_providers():
        credentials = ", ".join(f.name for f in cls.credentials_schema()) or "none"
        settings = ", ".join(f.name for f in cls.settings_schema() if f.editable)
        lines.append(f"  {cls.key}: credentials {credentials}; settings {settings}")
    return "\n".join(lines)
