"""The text record that flows from ingest to tag, its tag vocabulary, and its JSON Schema."""

from __future__ import annotations

TAG_VALUES = {
    "persona": ("twain", "franklin", "neutral"),
    "tone": ("humorous", "wry", "satirical", "didactic", "aphoristic"),
    "domain": ("weather", "general"),
    "source": ("gutenberg", "reddit", "synthetic", "weather"),
    "device": ("pun", "hyperbole", "analogy", "sarcasm", "headline", "none"),
}

TEXT_RECORD_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "twainlora text record (DESIGN.md: Records)",
    "type": "object",
    "required": ["id", "text", "source", "meta"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": r"^(gutenberg|reddit|synthetic|weather):\S+$"},
        "text": {"type": "string", "minLength": 1},
        "source": {"enum": list(TAG_VALUES["source"])},
        "meta": {"type": "object"},
        "tags": {
            "type": "object",
            "required": list(TAG_VALUES),
            "properties": {k: {"enum": list(v)} for k, v in TAG_VALUES.items()},
        },
    },
}


_VALIDATORS: dict[str, object] = {}  # by schema title: building one costs more than using it


def schema_error_strings(schema: dict, record: dict) -> list[str]:
    """Every way `record` breaks `schema`, as 'path: message' strings (empty when valid)."""
    validator = _VALIDATORS.get(schema["title"])
    if validator is None:
        import jsonschema

        validator = _VALIDATORS[schema["title"]] = jsonschema.Draft202012Validator(schema)
    errors = validator.iter_errors(record)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<record>'}: {e.message}"
        for e in sorted(errors, key=lambda e: list(e.absolute_path))
    ]


def validation_errors(record: dict) -> list[str]:
    """Every way a text record breaks its schema (empty when valid)."""
    return schema_error_strings(TEXT_RECORD_SCHEMA, record)


def reject(record: dict, stage: str, reason: str, detail: str = "") -> dict:
    """A row of data/rejects/<stage>.jsonl: the whole record kept, plus why it was dropped."""
    return {
        "stage": stage,
        "reason": reason,
        "detail": detail,
        "id": record.get("id"),
        "source": record.get("source"),
        "record": record,
    }


class RecordError(ValueError):
    """An input record that breaks the schema; the message names the file, line and field."""


def read_records(path, require_tags: bool = False):
    """Text records from a JSONL file, each checked against the schema (and, when
    `require_tags`, required to carry every tag), so a malformed input stops the stage with
    the place to fix instead of a KeyError deep inside it."""
    from twainlora.core.jsonl import read_jsonl

    for lineno, record in enumerate(read_jsonl(path), start=1):
        errors = validation_errors(record)
        if require_tags and "tags" not in record:
            errors.append("<record>: 'tags' is a required property (run the tag stage)")
        if errors:
            raise RecordError(
                f"{path}:{lineno}: record {record.get('id', '?')}: {'; '.join(errors)}"
            )
        yield record
