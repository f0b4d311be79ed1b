"""A real OpenAI-compatible HTTP server on loopback for tests: /v1/chat/completions answers
deterministically from the request, counts requests, and misbehaves on demand by model name
("slow" sleeps past the client's timeout, "broken" answers with invalid JSON, "error" with
HTTP 500, "judge" with the JSON scores the evaluate stage's LLM judge asks for). It is a
stand-in for a model server, not a mock of the client."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
import time


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        model = body.get("model", "")
        if model == "slow":
            time.sleep(2.0)
        if model == "error":
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": {"message": "boom"}}')
            return
        if model == "broken":
            payload = b"{this is not json"
        else:
            prompt = body["messages"][-1]["content"]
            digest = hashlib.sha256(prompt.encode()).hexdigest()
            text = f"Generated joke #{digest[:8]}: the sky has opinions."
            if model == "judge":
                h = int(digest, 16)
                scores = {"twainness": 1 + h % 5, "wit": 1 + h // 5 % 5, "grounded": "yes"}
                text = f"Scores: {json.dumps(scores)}"
            payload = json.dumps(
                {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "created": 0,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": text},
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
            ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class OpenAIStub:
    def __enter__(self):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.requests = []
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/v1"

    @property
    def requests(self) -> list[dict]:
        return self.server.requests

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
