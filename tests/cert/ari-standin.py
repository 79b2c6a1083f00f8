#!/usr/bin/env python3
"""ari-standin.py - a STAND-IN for the parts of an ACME CA that Debian's
pebble 2.4 predates: ACME Renewal Information (RFC 9773) and certificate
profiles (draft-ietf-acme-profiles). Not a CA: an HTTPS proxy in front of
the real pebble, which still does everything else (accounts, orders,
validation, issuance). tests/cert-ari.bats talks to it instead of pebble.

  ari-standin.py CONFIG LOG PEBBLE_URL CERT KEY

Listens on 127.0.0.1 (a free port, printed on stdout once listening) with
CERT/KEY (pebble's own listener certificate, so the same --ca-file
trusts it) and forwards every request to PEBBLE_URL (https://HOST:PORT)
with the Host header kept, so that pebble's URLs and its JWS "url" checks
name the stand-in. What it adds, as CONFIG (JSON, read again on every
request) says:

  {"renewal_info": true,            directory gets renewalInfo
   "window": [START, END],          suggestedWindow: seconds from now,
                                    or RFC 3339 strings sent as they are
   "retry_after": 3600,             Retry-After of renewalInfo (or null)
   "explanation": "https://...",    explanationURL (or null)
   "ari_status": 200,               another status: a problem document
   "profiles": {"NAME": "text"},    directory meta.profiles (or null)
   "rate_limit": 3600,              newOrder answers 429 rateLimited with
                                    this Retry-After (or null)
   "already_replaced": true}        newOrder with "replaces" answers 409
                                    alreadyReplaced

newOrder with a "profile" that is not offered is refused with 400
invalidProfile (pebble never sees it). LOG gets one line per
"renewalInfo CERTID" and "newOrder PAYLOAD-JSON", for the tests to read.
"""
import base64
import http.client
import json
import ssl
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONFIG, LOG, UPSTREAM, CERT, KEY = sys.argv[1:6]
UP = urllib.parse.urlsplit(UPSTREAM)
UP_CTX = ssl.create_default_context()
UP_CTX.check_hostname = False
UP_CTX.verify_mode = ssl.CERT_NONE  # pebble on loopback, our own cert
B64URL = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
HOP = {"connection", "transfer-encoding", "content-length", "keep-alive"}
new_order_path = "/order-plz"


def config():
    with open(CONFIG) as f:
        return json.load(f)


def log(line):
    with open(LOG, "a") as f:
        f.write(line + "\n")


def stamp(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def b64dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def send(self, code, body, ctype="application/json", headers=()):
        if not isinstance(body, bytes):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def problem(self, code, typ, detail):
        self.send(code, json.dumps({"type": "urn:ietf:params:acme:error:" + typ,
                                    "detail": detail}),
                  "application/problem+json")

    def upstream(self, body):
        c = http.client.HTTPSConnection(UP.hostname, UP.port, context=UP_CTX,
                                        timeout=30)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        c.request(self.command, self.path, body=body, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, [(k, v) for k, v in r.getheaders()
                          if k.lower() not in HOP], data

    def forward(self, body=None, edit=None):
        status, hdrs, data = self.upstream(body)
        if edit is not None and status == 200:
            data = edit(data)
        self.send_response(status)
        for k, v in hdrs:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def directory(self, data):
        global new_order_path
        d = json.loads(data)
        cfg = config()
        new_order_path = urllib.parse.urlsplit(d["newOrder"]).path
        if cfg.get("renewal_info"):
            d["renewalInfo"] = "https://%s/renewal-info" % self.headers["Host"]
        if cfg.get("profiles"):
            d.setdefault("meta", {})["profiles"] = cfg["profiles"]
        return json.dumps(d).encode()

    def renewal_info(self, cert_id):
        cfg = config()
        log("renewalInfo " + cert_id)
        parts = cert_id.split(".")
        if (not cfg.get("renewal_info") or len(parts) != 2 or
                not all(p and set(p) <= B64URL for p in parts)):
            return self.problem(404, "malformed", "no such certificate")
        if cfg.get("ari_status", 200) != 200:
            return self.problem(cfg["ari_status"], "serverInternal",
                                "the stand-in's renewalInfo is down")
        now = time.time()
        w = [x if isinstance(x, str) else stamp(now + x)
             for x in cfg.get("window", [0, 3600])]
        body = {"suggestedWindow": {"start": w[0], "end": w[1]}}
        if cfg.get("explanation"):
            body["explanationURL"] = cfg["explanation"]
        hdrs = []
        if cfg.get("retry_after") is not None:
            hdrs.append(("Retry-After", str(cfg["retry_after"])))
        self.send(200, json.dumps(body), headers=hdrs)

    def do_GET(self):
        if self.path.startswith("/renewal-info/"):
            return self.renewal_info(self.path[len("/renewal-info/"):])
        if self.path == "/dir":
            return self.forward(edit=self.directory)
        self.forward()

    def do_HEAD(self):
        self.forward()

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(min(n, 1 << 20))
        if self.path == new_order_path:
            try:
                payload = json.loads(b64dec(json.loads(body)["payload"]))
            except (ValueError, KeyError):
                payload = None
            log("newOrder " + json.dumps(payload, sort_keys=True))
            cfg = config()
            if cfg.get("rate_limit"):
                return self.send(
                    429, json.dumps({
                        "type": "urn:ietf:params:acme:error:rateLimited",
                        "detail": "the stand-in limits new orders"}),
                    "application/problem+json",
                    [("Retry-After", str(cfg["rate_limit"]))])
            if cfg.get("already_replaced") and \
                    isinstance(payload, dict) and "replaces" in payload:
                return self.problem(409, "alreadyReplaced",
                                    "that certificate was replaced already")
            offered = cfg.get("profiles") or {}
            if isinstance(payload, dict) and "profile" in payload and \
                    payload["profile"] not in offered:
                return self.problem(400, "invalidProfile",
                                    "profile %r is not offered" %
                                    payload["profile"])
        self.forward(body)


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
