"""payments_webhook_benchmark: signed Stripe events against gunicorn + PostgreSQL on loopback."""
