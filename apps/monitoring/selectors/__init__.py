"""Reads: health over the last 24 hours, reports over any period, shared time windows."""
