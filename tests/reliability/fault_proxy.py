"""A tiny HTTP proxy in front of a private moto that throttles chosen AWS operations.

The operation of a request is read the way AWS routes it: ``Action=`` of a Query-protocol form
body (ElastiCache, RDS, IAM, STS, EC2), ``X-Amz-Target`` of the JSON protocol, or
``METHOD /path`` for REST protocols (EKS, S3). The first ``count`` requests of a throttled
operation get the error AWS sends in that protocol; everything else is forwarded unchanged.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

QUERY_ERROR = ('<ErrorResponse xmlns="https://aws.amazon.com/"><Error><Type>Sender</Type><Code>{code}</Code>'
               '<Message>Rate exceeded</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>')


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream = (parsed.hostname, parsed.port)
        self.faults: dict[str, dict] = {}  # operation -> {"count": n, "code": ..., "status": ...}
        self.seen: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                op = proxy.operation(self.command, self.path, self.headers, body)
                fault = proxy.take(op)
                if fault:
                    self._throttle(fault)
                    return
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for key, value in resp.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            def _throttle(self, fault):
                if fault["protocol"] == "query":
                    data = QUERY_ERROR.format(code=fault["code"]).encode()
                    ctype = "text/xml"
                else:  # rest-json / json
                    data = json.dumps({"__type": fault["code"], "message": "Rate exceeded"}).encode()
                    ctype = "application/json"
                self.send_response(fault["status"])
                self.send_header("Content-Type", ctype)
                self.send_header("x-amzn-ErrorType", fault["code"])
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def operation(method: str, path: str, headers, body: bytes) -> str:
        target = headers.get("X-Amz-Target")
        if target:
            return target.rpartition(".")[2]
        if body and "x-www-form-urlencoded" in (headers.get("Content-Type") or ""):
            action = urllib.parse.parse_qs(body.decode()).get("Action")
            if action:
                return action[0]
        return "%s %s" % (method, urllib.parse.urlsplit(path).path)

    def throttle(self, operation: str, count: int, *, code: str = "Throttling", status: int = 400,
                 protocol: str = "query") -> None:
        with self.lock:
            self.faults[operation] = {"count": count, "code": code, "status": status, "protocol": protocol}

    def take(self, operation: str) -> dict | None:
        with self.lock:
            self.seen[operation] += 1
            fault = self.faults.get(operation)
            if fault and fault["count"] > 0:
                fault["count"] -= 1
                self.throttled[operation] += 1
                return fault
            return None

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()
