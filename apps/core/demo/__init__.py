"""Demo data: a Denver HVAC and plumbing company, plus a tiny rival, for `manage.py seed_demo`."""

from .seed import DEFAULT_SLUG, RIVAL_SLUG, SeedReport, business_counts, demo_seed

__all__ = ["DEFAULT_SLUG", "RIVAL_SLUG", "SeedReport", "business_counts", "demo_seed"]
