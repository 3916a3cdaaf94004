"""The monitoring benchmark (manage.py monitoring_benchmark), in its own PostgreSQL database."""
