#!/usr/bin/env python3
"""standin.py - a STAND-IN for a misbehaving ACME CA (not pebble, not a
real CA): plain HTTP on 127.0.0.1, one bad behaviour per MODE, so that
tests/cert.bats can check sov-cert's answers to hostile or broken CA
responses. Prints its port on stdout once listening.

  standin.py MODE
    huge        the directory is a 2 MiB JSON document (over the cap)
    notjson     the directory is HTML
    nourls      the directory lacks newOrder
    badurl      the directory's newAccount is not an http(s) URL
    down500     the directory answers 500 with a problem document
    ratelimit   newAccount answers 429 rateLimited, Retry-After 3600
    hugeheader  a directory response with 2000 header lines
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = sys.argv[1]


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def base(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def send(self, code, body, ctype="application/json", headers=()):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Replay-Nonce", "c3RhbmRpbg")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def directory(self):
        b = self.base()
        d = {"newNonce": b + "/nonce", "newAccount": b + "/acct",
             "newOrder": b + "/order", "meta": {"termsOfService": b + "/tos"}}
        if MODE == "nourls":
            del d["newOrder"]
        if MODE == "badurl":
            d["newAccount"] = "file:///etc/passwd"
        return d

    def do_GET(self):
        if self.path != "/dir":
            return self.send(404, "{}")
        if MODE == "huge":
            return self.send(200, json.dumps({"pad": "x" * (2 << 20)}))
        if MODE == "notjson":
            return self.send(200, "<html>hello</html>", "text/html")
        if MODE == "down500":
            return self.send(500, json.dumps(
                {"type": "urn:ietf:params:acme:error:serverInternal",
                 "detail": "the stand-in is down"}),
                "application/problem+json")
        if MODE == "hugeheader":
            return self.send(200, json.dumps(self.directory()), headers=[
                ("X-Pad-%d" % i, "y" * 100) for i in range(2000)])
        return self.send(200, json.dumps(self.directory()))

    def do_HEAD(self):
        self.send(200, "")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(min(n, 1 << 20))
        if MODE == "ratelimit" and self.path == "/acct":
            return self.send(429, json.dumps(
                {"type": "urn:ietf:params:acme:error:rateLimited",
                 "detail": "too many new accounts from the stand-in"}),
                "application/problem+json", [("Retry-After", "3600")])
        return self.send(400, json.dumps(
            {"type": "urn:ietf:params:acme:error:malformed",
             "detail": "the stand-in does nothing else"}),
            "application/problem+json")


class S(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that hangs up on a hostile answer is expected


srv = S(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
