#!/usr/bin/env python3
"""A scripted OpenAI-compatible endpoint for trying `tessera tune --agents llm` without a
model: answers each POST to .../chat/completions with the next reply file given on the
command line (as the C++ tests' ScriptedServer does), then 418 when the script runs out.
Test tooling only; it prints the port it listens on (127.0.0.1) as its first line.

    scripts/scripted_llm_server.py tests/data/agents/openai_variant_plan.json ... &
"""
import http.server
import json
import sys
import threading

replies = [open(p).read() for p in sys.argv[1:]]
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        with lock:
            body = replies.pop(0) if replies else None
        status = 200 if body is not None else 418
        if body is None:
            body = json.dumps({"error": {"message": "scripted server: no reply left in the script"}})
        data = body.encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        sys.stderr.write("scripted llm: " + (fmt % args) + "\n")


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
