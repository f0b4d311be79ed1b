"""The pieces every phase shares: params, JSONL IO, record schemas, seeded order, tokens, tool calls."""
