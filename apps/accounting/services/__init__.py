"""Writes of the accounting domain. Vendor-neutral: adapters only map payloads and errors."""
