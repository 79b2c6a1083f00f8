#!/usr/bin/env bats
# probe-mesh.bats - sov-probe's icmp and wireguard targets against the real
# thing: two network namespaces on a bridge, each running Debian's
# wireguard-go (this kernel has no WireGuard module; `wg` speaks the same
# protocol to both), with a tunnel between them. Needs root for the
# namespaces; skips with the reason otherwise.

load helpers/common
load helpers/probe

setup_file() {
	export NO_MESH=
	if [ "$(id -u)" -ne 0 ]; then
		export NO_MESH="network namespaces need root"
		return 0
	fi
	for c in ip wg wireguard-go setpriv; do
		if ! command -v $c >/dev/null; then
			export NO_MESH="$c is not installed (make deps)"
			return 0
		fi
	done
	# names unique to this run: wireguard-go's control sockets live in
	# /var/run/wireguard whatever the namespace
	local id=$$
	export M="$BATS_FILE_TMPDIR/mesh" LAN=sovp${id}l A=sovp${id}a B=sovp${id}b
	export IF_A=wgp${id}a IF_B=wgp${id}b
	mkdir -p "$M"
	if ! ip netns add "$LAN" 2>"$M/err"; then
		export NO_MESH="ip netns add: $(cat "$M/err")"
		return 0
	fi
	ip -n "$LAN" link add br0 type bridge
	ip -n "$LAN" link set br0 up
	local n=1
	for ns in "$A" "$B"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		ip link add "v-$ns" type veth peer name eth0 netns "$ns"
		ip link set "v-$ns" netns "$LAN"
		ip -n "$LAN" link set "v-$ns" master br0 up
		ip -n "$ns" addr add "10.252.0.$n/24" dev eth0
		ip -n "$ns" link set eth0 up
		(umask 077 && wg genkey >"$M/$ns.key")
		wg pubkey <"$M/$ns.key" >"$M/$ns.pub"
		n=$((n + 1))
	done
	wg genkey | wg pubkey >"$M/ghost.pub"
	export KEY_A KEY_B GHOST
	KEY_A=$(cat "$M/$A.pub") KEY_B=$(cat "$M/$B.pub") GHOST=$(cat "$M/ghost.pub")
	ip netns exec "$A" wireguard-go -f "$IF_A" >"$M/a.log" 2>&1 3>&- &
	echo $! >"$M/a.pid"
	ip netns exec "$B" wireguard-go -f "$IF_B" >"$M/b.log" 2>&1 3>&- &
	echo $! >"$M/b.pid"
	wait_for 10 test -S "/var/run/wireguard/$IF_A.sock"
	wait_for 10 test -S "/var/run/wireguard/$IF_B.sock"
	# A knows B and a ghost that never answers; B knows A
	ip netns exec "$A" wg set "$IF_A" listen-port 51820 private-key "$M/$A.key" \
		peer "$KEY_B" allowed-ips 10.252.1.2/32 endpoint 10.252.0.2:51820 \
		peer "$GHOST" allowed-ips 10.252.1.9/32
	ip netns exec "$B" wg set "$IF_B" listen-port 51820 private-key "$M/$B.key" \
		peer "$KEY_A" allowed-ips 10.252.1.1/32 endpoint 10.252.0.1:51820
	ip -n "$A" addr add 10.252.1.1/24 dev "$IF_A"
	ip -n "$A" link set "$IF_A" up
	ip -n "$B" addr add 10.252.1.2/24 dev "$IF_B"
	ip -n "$B" link set "$IF_B" up
	# ping sockets for every group in A; B keeps the kernel's default (none)
	ip netns exec "$A" sysctl -q -w net.ipv4.ping_group_range="0 2147483647"
	# one datagram into the tunnel makes the handshake
	ip netns exec "$A" bash -c 'echo hi >/dev/udp/10.252.1.2/9'
	wait_for 10 handshaken || export NO_MESH="no WireGuard handshake in 10 s: $(cat "$M"/*.log)"
}

handshaken() {
	ip netns exec "$A" wg show "$IF_A" latest-handshakes | grep -q "^$KEY_B	[1-9]"
}

teardown_file() {
	[ -n "${M:-}" ] || return 0
	for p in "$M"/*.pid; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null
	done
	for ns in "${A:-}" "${B:-}" "${LAN:-}"; do
		[ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
	done
	true
}

setup() {
	[ -z "$NO_MESH" ] || skip "$NO_MESH"
}

teardown() {
	# a daemon left by a failed test would probe on for ever
	[ -z "${DPID:-}" ] || kill -9 "$DPID" 2>/dev/null || true
}

@test "icmp: a reply on the link and through the tunnel, IPv6 loopback, silence, ping sockets off" {
	f=$(targets '"link":{"type":"icmp","host":"10.252.0.2"},
	 "tunnel":{"type":"icmp","host":"10.252.1.2"},
	 "v6":{"type":"icmp","host":"::1"},
	 "silent":{"type":"icmp","host":"10.252.0.99","timeout":"500ms"},
	 "nowhere":{"type":"icmp","host":"nowhere.invalid"}')
	run ip netns exec "$A" sov-probe run --targets "$f"
	assert_failure 1
	for t in link tunnel v6; do
		[ "$(field "$output" $t .up)" = true ]
		[ "$(field "$output" $t '.seconds < 0.5')" = true ]
	done
	[ "$(field "$output" tunnel .address)" = 10.252.1.2 ]
	[ "$(field "$output" v6 .address)" = ::1 ]
	[ "$(field "$output" silent .error)" = "10.252.0.99: no echo reply in 500 ms" ]
	[ "$(field "$output" silent '.seconds >= 0.5 and .seconds < 1.5')" = true ]
	field "$output" nowhere .error | grep -q '^nowhere.invalid: '
	# unprivileged, as the point of ping sockets is
	run ip netns exec "$A" setpriv --reuid=65534 --regid=65534 --clear-groups \
		sov-probe run --targets /dev/stdin tunnel <"$f"
	assert_success
	[ "$(jq -r .up <<<"$output")" = true ]
	# B allows no group: the error names the sysctl and the group
	run ip netns exec "$B" sov-probe run --targets "$f" link
	assert_failure 1
	assert_output --partial '"error":"unprivileged ICMP sockets are off for this group: allow it in net.ipv4.ping_group_range (gid 0)"'
}

@test "wireguard: handshake age per peer, a peer that never shook hands, peers named, a stale handshake" {
	f=$(targets '"all":{"type":"wireguard","interface":"'"$IF_A"'"},
	 "b":{"type":"wireguard","interface":"'"$IF_A"'","peers":["'"$KEY_B"'"]},
	 "unknown":{"type":"wireguard","interface":"'"$IF_A"'","peers":["'"$KEY_B"'","'"$KEY_A"'"]},
	 "from-b":{"type":"wireguard","interface":"'"$IF_B"'","max_age":"1h"}')
	run ip netns exec "$A" sov-probe run --targets "$f"
	assert_failure 1
	# every configured peer is listed; the ghost has no handshake at all
	[ "$(field "$output" all '.peers | map(.peer) | sort | join(" ")')" = "$(printf '%s\n' "$KEY_B" "$GHOST" | LC_ALL=C sort | paste -sd ' ')" ]
	[ "$(field "$output" all '.peers[] | select(.peer == "'"$GHOST"'") | .age')" = null ]
	[ "$(field "$output" all .error)" = "$IF_A: 1 of 2 peers without a handshake in 180 s (first: $GHOST)" ]
	# naming only B leaves the ghost out
	[ "$(field "$output" b .up)" = true ]
	[ "$(field "$output" b '.peers | length')" = 1 ]
	[ "$(field "$output" b '.peers[0].age >= 0 and .peers[0].age < 60')" = true ]
	[ "$(field "$output" unknown .error)" = "$IF_A: 1 of the 2 peers named are not configured" ]
	[ "$(field "$output" from-b .up)" = true ]
	# the handshake is older than a one-second bound once a second passes
	age=$(field "$output" b '.peers[0].age')
	[ "$age" -ge 2 ] || sleep $((2 - age))
	f=$(targets '"strict":{"type":"wireguard","interface":"'"$IF_A"'","peers":["'"$KEY_B"'"],"max_age":"1s"}')
	run ip netns exec "$A" sov-probe run --targets "$f"
	assert_failure 1
	[ "$(jq -r .error <<<"$output")" = "$IF_A: 1 of 1 peers without a handshake in 1 s (first: $KEY_B)" ]
}

@test "wireguard: a missing interface, a user who may not read it, no wg: each error says why" {
	f=$(targets '"gone":{"type":"wireguard","interface":"wgnone'"$$"'"},
	 "a":{"type":"wireguard","interface":"'"$IF_A"'","peers":["'"$KEY_B"'"]}')
	run ip netns exec "$A" sov-probe run --targets "$f" gone
	assert_failure 1
	[ "$(jq -r .error <<<"$output")" = "wg show wgnone$$: exit 1: Unable to access interface: Protocol not supported (is it up? wg needs CAP_NET_ADMIN, or for a userspace WireGuard access to /var/run/wireguard/wgnone$$.sock)" ] ||
		# a kernel with WireGuard answers for the missing interface itself
		jq -r .error <<<"$output" | grep -q "^wg show wgnone$$: exit 1: Unable to access interface: No such device"
	[ "$(jq -c .peers <<<"$output")" = '[]' ]
	run ip netns exec "$A" setpriv --reuid=65534 --regid=65534 --clear-groups \
		sov-probe run --targets /dev/stdin a <"$f"
	assert_failure 1
	jq -r .error <<<"$output" | grep -q "^wg show $IF_A: exit 1: .*(is it up? wg needs CAP_NET_ADMIN"
	run ip netns exec "$A" env PATH=/nonexistent "$SOV_BUILD/sov-probe" run --targets "$f" a
	assert_failure 1
	[ "$(jq -r .error <<<"$output")" = "cannot run wg: command not found in PATH" ]
}

@test "daemon in the mesh: probe.age per peer in the store, and the tunnel going down and up again" {
	cat >"$BATS_TEST_TMPDIR/t.json" <<EOF
{"defaults":{"interval":"1s","timeout":"500ms"},
 "targets":{"mesh":{"type":"wireguard","interface":"$IF_A","peers":["$KEY_B"]},
            "peer-b":{"type":"icmp","host":"10.252.1.2","failures":2}}}
EOF
	D=$BATS_TEST_TMPDIR
	SOV_STATE_DIR="$D/state" ip netns exec "$A" sov-probe daemon --targets "$D/t.json" \
		--metrics "sqlite:$D/m.db" >"$D/out" 2>"$D/err" 3>&- &
	DPID=$!
	wait_for 10 grep -q '"target":"peer-b".*"to":"up"' "$D/out"
	wait_for 10 grep -q '"target":"mesh".*"to":"up"' "$D/out"
	# B's end of the tunnel stops delivering: A's pings go unanswered
	ip -n "$B" link set "$IF_B" down
	wait_for 10 grep -q '"target":"peer-b".*"to":"down"' "$D/out"
	ip -n "$B" link set "$IF_B" up
	wait_for 10 grep -q '"target":"peer-b".*"from":"down","to":"up"' "$D/out"
	kill -TERM "$DPID"
	wait "$DPID"
	# one probe.age per round for B, tagged with its key; a handshake
	# lasts two minutes, so the mesh target stayed up throughout
	[ "$(sqlite3 "$D/m.db" "select count(*) from measurements where name='probe.age' and json_extract(tags,'$.target')='mesh' and json_extract(tags,'$.peer')='$KEY_B'")" -ge 3 ]
	[ "$(sqlite3 "$D/m.db" "select max(value) < 120 from measurements where name='probe.age'")" = 1 ]
	[ "$(sqlite3 "$D/m.db" "select count(*) from measurements where name='probe.up' and value=0 and json_extract(tags,'$.target')='mesh'")" = 0 ]
	[ "$(sqlite3 "$D/m.db" "select count(*) from measurements where name='probe.up' and value=0 and json_extract(tags,'$.target')='peer-b'")" -ge 2 ]
	run grep -c '"target":"mesh".*"to":"down"' "$D/out"
	assert_output 0
	# down after two unanswered pings in a row, not one
	run jq -c 'select(.event == "probe.state" and .to == "down") | [.target, .streak, .error]' "$D/out"
	assert_output '["peer-b",2,"10.252.1.2: no echo reply in 500 ms"]'
}
