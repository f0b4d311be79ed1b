"""The one generation engine, the OpenAI-compatible server and the chat client."""
