"""Batched look-ups by key, made fresh for every request and never shared between callers."""
