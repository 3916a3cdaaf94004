"""Writes: rollups, alerts, the health check, retention, token refresh, reports, schedules."""
