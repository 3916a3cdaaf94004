"""Writes of the payments domain: `<entity>_<verb>` functions with keyword-only arguments."""
