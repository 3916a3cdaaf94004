"""In-process emulated instruments for tests and the benchmark: bumble virtual controllers on a
`LocalLink`, emulated probes as bumble GATT peripherals, and a bleak backend that bridges bleak's
public API to a bumble central. Never used in the field (the agent uses the OS Bluetooth stack).
bumble is pinned exactly in pyproject.toml, as bleak's own test suite does: its API moves.
"""
