"""Helpers for the DVC remote (a local S3 server for development and tests)."""
