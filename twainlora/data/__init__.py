"""Raw corpora to tagged text records: ingest, clean, dedupe, chunk, tag."""
