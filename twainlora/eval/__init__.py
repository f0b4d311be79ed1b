"""Scoring the base model and the adapters: style, tool use, safety, review."""
