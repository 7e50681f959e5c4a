"""Metrics mmseg lacks (registered in mmseg's METRICS)."""
