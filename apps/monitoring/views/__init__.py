"""Manager pages (health, report, PDF) and the service endpoints (/healthz, /readyz, /metrics)."""
