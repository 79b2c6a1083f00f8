#!/bin/sh
# wf-demo.sh - sov-wf's part of `make demo`: the lead pipeline of
# examples/workflows on a batch of leads, with a worker killed (kill -9)
# mid-run and started again, then what the store says: every lead handled
# once, one execution compensated (its customer row undone) and
# dead-lettered, and the measurements.
#
# The sales chat that the notify step posts to is a stand-in (a few lines
# of Python on 127.0.0.1), since the demo must not reach the internet; it
# refuses the lead from "mallory", which makes that execution fail for good,
# and posts a delivery repeated under the same Idempotency-Key once, as a
# receiver of at-least-once steps must.
set -eu
B=$(cd "${SOV_BUILD:-build}" && pwd)
EX=$(cd "$(dirname "$0")/workflows" && pwd)
state=$(mktemp -d /tmp/sov-wf-demo.XXXXXX)
pids=
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
	rm -rf "$state"
}
trap cleanup EXIT INT TERM

export SOV_STATE_DIR=$state SOV_WF_WORKFLOWS=$state/workflows SOV_WF_STORE=sqlite:$state/wf.db
export SOV_METRICS=sqlite:$state/metrics.db LEAD_DB=$state/customers.db
export PATH="$B:$EX/bin:$PATH"
n=${SOV_DEMO_LEADS:-40}

echo "== sov-wf demo: $n leads through examples/workflows/lead.json (state in $state)"
python3 -c '
import http.server, sys
seen = set()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        refuse = b"mallory" in body.lower()
        key = self.headers.get("Idempotency-Key", "")
        self.send_response(400 if refuse else 204)
        self.end_headers()
        if refuse:
            return
        # A step is run at least once: a delivery repeated after a worker
        # died is known by its key, acknowledged and not posted twice.
        if key and key in seen:
            open(sys.argv[1] + ".repeated", "ab").write(key.encode() + b"\n")
            return
        seen.add(key)
        open(sys.argv[1], "ab").write(body + b"\n")
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_port, flush=True)
s.serve_forever()
' "$state/chat.log" >"$state/chat.port" &
pids="$pids $!"
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$state/chat.port" ] && break; sleep 0.2; done
port=$(cat "$state/chat.port")

mkdir "$SOV_WF_WORKFLOWS"
jq --arg url "http://127.0.0.1:$port/hooks/sales" \
	'.steps.notify.http.url = $url | .triggers = [{"enqueue": true}]' \
	"$EX/lead.json" >"$SOV_WF_WORKFLOWS/lead.json"
sov-wf validate "$SOV_WF_WORKFLOWS" >/dev/null

i=0
while [ "$i" -lt "$n" ]; do
	i=$((i + 1))
	case $((i % 4)) in
	0) printf '{"email":"lead%d@gmail.com","name":"Lead %d"}\n' "$i" "$i" ;;
	1) printf '{"email":"ceo%d@firm%d.example","name":"Chief %d","title":"CEO","message":"We need a partner for our whole infrastructure, soon.","phone":"+49 30 %d"}\n' "$i" "$i" "$i" "$i" ;;
	*) printf '{"email":"ops%d@shop%d.example","name":"Ops %d","title":"engineer"}\n' "$i" "$i" "$i" ;;
	esac
done >"$state/leads.jsonl"
echo '{"email":"mallory@evil.example","name":"Mallory","title":"Director","message":"Please store me and then tell everyone about it."}' >>"$state/leads.jsonl"
sov-wf enqueue lead --key .email <"$state/leads.jsonl" >/dev/null
echo "enqueued $(wc -l <"$state/leads.jsonl") executions"

sov-wf worker --threads 2 --lease 2s --metrics "$SOV_METRICS" >/dev/null 2>"$state/worker1.err" &
w=$!
pids="$pids $w"
sleep 1
kill -9 "$w"
echo "killed the worker (kill -9) with its steps in flight:"
sqlite3 -cmd ".timeout 10000" "$state/wf.db" "SELECT '  ' || status || ': ' || count(*) FROM wf_steps GROUP BY status ORDER BY status"

echo "a new worker takes over once the dead one's leases (2s) run out ..."
sov-wf worker --threads 2 --lease 2s --metrics "$SOV_METRICS" >/dev/null 2>"$state/worker2.err" &
pids="$pids $!"
t=0
while [ "$(sqlite3 -cmd ".timeout 10000" "$state/wf.db" "SELECT count(*) FROM wf_executions WHERE status IN ('running','compensating')")" != 0 ]; do
	t=$((t + 1))
	[ "$t" -le 600 ] || { echo "demo: executions still running after 60 s" >&2; cat "$state"/worker*.err >&2; exit 1; }
	sleep 0.1
done

echo
echo "== the executions"
sqlite3 -cmd ".timeout 10000" -column -header "$state/wf.db" "SELECT status, count(*) AS executions FROM wf_executions GROUP BY status"
echo
echo "== attempts lost with the killed worker and run again"
sqlite3 -cmd ".timeout 10000" -column -header "$state/wf.db" "SELECT step, count(*) AS lost FROM wf_attempts WHERE outcome = 'lost' GROUP BY step"
echo
echo "== every lead stored once; mallory's row undone by the saga"
sqlite3 -cmd ".timeout 10000" "$state/customers.db" "SELECT count(*) || ' customers, ' || count(DISTINCT email) || ' distinct emails, mallory: ' || (SELECT count(*) FROM customers WHERE email LIKE 'mallory%') FROM customers"
echo "$(wc -l <"$state/chat.log") notifications reached the (stand-in) sales chat"
[ -s "$state/chat.log.repeated" ] &&
	echo "  (and $(wc -l <"$state/chat.log.repeated") repeated after the kill, known by their Idempotency-Key)"
echo
echo "== the dead-letter queue (sov-wf dlq list)"
sov-wf dlq list | jq -c '{execution, step, state, retries, error: .error[0:90]}'
echo
echo "== its saga (sov-wf show: the steps of the failed execution)"
id=$(sov-wf dlq list | jq -r '.execution' | head -n 1)
sov-wf show "$id" | jq -r 'select(.event == "step") | "  \(.step): \(.status)"'
echo
echo "== measurements (sov-wf wrote them to $SOV_METRICS)"
sqlite3 -cmd ".timeout 10000" -column -header "$state/metrics.db" "
	SELECT name, count(*) AS n, printf('%.3f', sum(value)) AS sum,
	       printf('%.3f', avg(value)) AS avg
	FROM measurements WHERE name LIKE 'wf.%' GROUP BY name ORDER BY name"
