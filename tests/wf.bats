#!/usr/bin/env bats
# wf.bats - sov-wf's definitions from the command line: validate (files,
# directories, stdin, duplicates, exit codes, messages), graph (DOT, and
# SVG through Graphviz when it is installed), every command's help, and the example workflows with the scripts their steps run.

load helpers/common
bats_require_minimum_version 1.5.0

EX="$BATS_TEST_DIRNAME/../examples/workflows"

setup() {
	T=$(mktemp -d "$BATS_TMPDIR/wf.XXXXXX")
}

teardown() {
	rm -rf "$T"
}

# A small valid definition named $2 in file $1.
good() {
	printf '{"name":"%s","version":2,"steps":{"b":{"needs":["a"],"run":["x"]},"a":{"run":["/bin/true"]}}}\n' "$2" >"$1"
}

@test "--help lists the commands" {
	run sov-wf --help
	assert_success
	assert_output --partial "validate"
	assert_output --partial "graph"
	assert_line --regexp '^  run +start an execution'
	assert_line --regexp '^  worker +run queued steps'
	assert_line --regexp '^  dlq +the dead-letter queue'
	refute_output --partial "not yet"
	run sov-wf --version
	assert_success
	assert_output --regexp '^sov-wf [0-9]'
	run sov-wf validate --help
	assert_success
	assert_output --partial "FILE|DIR"
}

@test "every command has its help" {
	for c in run enqueue worker dlq status history show cancel logs; do
		run sov-wf "$c" --help
		assert_success
		refute_output --partial "not yet"
	done
}

@test "validate: a good file is one record with the order" {
	good "$T/w.json" w
	run --separate-stderr sov-wf validate "$T/w.json"
	assert_success
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 1 ]
	run jq -ce '[.event, .file, .name, .version, .steps, .order]' <<<"$output"
	assert_success
	assert_output "[\"valid\",\"$T/w.json\",\"w\",2,2,[\"a\",\"b\"]]"
	run jq -re .ts <<<"$(sov-wf validate "$T/w.json")"
	assert_output --regexp '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z$'
}

@test "validate: a bad file is exit 2, file and path on stderr, no record" {
	printf '{"name":"w","version":1,"steps":{"a":{"run":["x"],"retry":{"attempts":0}}}}' >"$T/bad.json"
	run --separate-stderr sov-wf validate "$T/bad.json"
	assert_failure 2
	assert_output ""
	[ "$stderr" = "sov-wf: $T/bad.json: steps.a.retry.attempts: must be an integer from 1 to 100" ]
}

@test "validate: the messages of common mistakes" {
	check() { # json, expected message after "FILE: "
		printf '%s' "$1" >"$T/m.json"
		run sov-wf validate "$T/m.json"
		assert_failure 2
		assert_output "sov-wf: $T/m.json: $2"
	}
	check '{"name":"w","version":1,"steps":{"a":{"run":["x"],"needs":["b"]},"b":{"run":["x"],"needs":["a"]}}}' \
		'steps: cycle a -> b -> a'
	check '{"name":"w","version":1,"steps":{"a":{"run":["x"],"needs":["scor"]},"score":{"run":["x"]}}}' \
		'steps.a.needs[0]: "scor" names no step (did you mean "score"?)'
	check '{"name":"w","version":1,"steps":{"a":{"run":["x"],"retyr":{}}}}' \
		'steps.a.retyr: unknown field (did you mean "retry"?)'
	check '{"name":"w","version":1,"steps":{"a":{"run":["x"],"jq":"."}}}' \
		'steps.a: has run and jq: a step does one of them'
	check '{"name":"w","steps":{"a":{"run":["x"]}}}' 'version: required'
	check '{"name":"w","version":1,"steps":{"a":{"run":["x"]}},"triggers":[{"cron":"0 0 30 2 *"}]}' \
		'triggers[0].cron: "0 0 30 2 *" never fires (no month has that day)'
	printf '{"name":"w","version":1,"steps":{"a":{"jq":".a |||"}}}' >"$T/m.json"
	run sov-wf validate "$T/m.json"
	assert_failure 2
	assert_output --regexp "^sov-wf: $T/m.json: steps.a.jq: jq: error: syntax error"
	[ "${#lines[@]}" -eq 1 ]
	printf '{"name":' >"$T/m.json"
	run sov-wf validate "$T/m.json"
	assert_failure 2
	assert_output --partial "$T/m.json: invalid JSON at column 9"
}

@test "validate: good and bad together: the good reported, exit 2" {
	good "$T/a.json" one
	printf '[]' >"$T/b.json"
	good "$T/c.json" three
	run --separate-stderr sov-wf validate "$T/a.json" "$T/b.json" "$T/c.json"
	assert_failure 2
	[ "${#lines[@]}" -eq 2 ]
	assert_line --index 0 --partial '"name":"one"'
	assert_line --index 1 --partial '"name":"three"'
	[ "$stderr" = "sov-wf: $T/b.json: .: must be an object, not an array" ]
}

@test "validate DIR: every *.json in name order, nothing else" {
	mkdir "$T/d" "$T/d/sub.json"
	for n in q k z b x a m; do good "$T/d/$n.json" "w$n"; done
	good "$T/d/.hidden.json" hidden
	printf 'not json' >"$T/d/notes.txt"
	good "$T/d/sub.json/inner.json" inner
	run sov-wf validate "$T/d"
	assert_success
	run jq -rs 'map(.name) | join(" ")' <<<"$output"
	assert_output "wa wb wk wm wq wx wz"
	run sov-wf validate "$T/d/"
	assert_success
	assert_line --index 0 --partial "\"file\":\"$T/d/a.json\""
}

@test "validate: a directory without definitions is exit 2" {
	mkdir "$T/empty"
	run sov-wf validate "$T/empty"
	assert_failure 2
	assert_output "sov-wf: $T/empty: no *.json files"
}

# Programs are checked many at a time (lib/jqbatch.c); a bad one among
# hundreds must still be found, in its own file, with its own message.
@test "validate: 300 files, two bad programs among 900: each named, the rest valid" {
	mkdir "$T/d"
	for i in $(seq -w 1 300); do
		cond='.steps.a.n > 1'
		undo='{x: .steps.a}'
		[ "$i" = 150 ] && cond='.steps.a.n >'
		[ "$i" = 299 ] && undo='{x: nosuch(.steps.a)}'
		printf '{"name":"w%s","version":1,"steps":{"a":{"jq":"{n: ((.n // 0) + %d)}"},"b":{"needs":["a"],"if":"%s","run":["x"],"undo":{"input":"%s","run":["y"]}}}}\n' \
			"$i" "$((10#$i))" "$cond" "$undo" >"$T/d/w$i.json"
	done
	run --separate-stderr sov-wf validate "$T/d"
	assert_failure 2
	[ "${#lines[@]}" -eq 298 ]
	run jq -rs 'map(.name) | [first, .[148], .[149], last] | join(" ")' <<<"$output"
	assert_output "w001 w149 w151 w300"
	[ "$(grep -c . <<<"$stderr")" -eq 2 ]
	run grep -c "^sov-wf: $T/d/w150.json: steps.b.if: jq: error: syntax error" <<<"$stderr"
	assert_output 1
	run grep -c "^sov-wf: $T/d/w299.json: steps.b.undo.input: jq: error: nosuch/1 is not defined" <<<"$stderr"
	assert_output 1
}

@test "validate: two files defining one name: the second is refused" {
	good "$T/a.json" same
	good "$T/b.json" same
	run --separate-stderr sov-wf validate "$T/a.json" "$T/b.json"
	assert_failure 2
	[ "${#lines[@]}" -eq 1 ]
	[ "$stderr" = "sov-wf: $T/b.json: name: \"same\" is already defined by $T/a.json" ]
}

@test "validate: two workflows on one webhook path are refused" {
	for n in a b; do
		printf '{"name":"%s","version":1,"steps":{"s":{"run":["x"]}},"triggers":[{"webhook":{"path":"/hooks/in","secret_file":"/run/s"}}]}' "$n" >"$T/$n.json"
	done
	run sov-wf validate "$T/a.json" "$T/b.json"
	assert_failure 2
	assert_output --partial "$T/b.json: triggers[0].webhook.path: \"/hooks/in\" is also the webhook of $T/a.json"
}

@test "validate: missing files, stdin, options, the size cap" {
	run sov-wf validate "$T/nope.json"
	assert_failure 2
	assert_output --partial "$T/nope.json"
	good "$T/w.json" w
	run sov-wf validate - <"$T/w.json"
	assert_success
	assert_output --partial '"file":"stdin"'
	run sov-wf validate - <<<'{"name":"w"}'
	assert_failure 2
	assert_output "sov-wf: stdin: steps: required"
	run sov-wf validate
	assert_failure 2
	run sov-wf validate --bogus "$T/w.json"
	assert_failure 2
	head -c 1048577 /dev/zero | tr '\0' ' ' >"$T/big.json"
	run sov-wf validate "$T/big.json"
	assert_failure 2
	assert_output --partial "$T/big.json"
}

@test "validate: a full stdout is an error, not silence" {
	good "$T/w.json" w
	[ -w /dev/full ] || skip "no /dev/full"
	run bash -c "sov-wf validate '$T/w.json' >/dev/full"
	assert_failure
	assert_output --partial "stdout"
}

@test "the example workflows validate" {
	run sov-wf validate "$EX"
	assert_success
	[ "${#lines[@]}" -eq 3 ]
	assert_line --index 0 --partial '"name":"invoice-reminder"'
	assert_line --index 1 --partial '"name":"lead"'
	assert_line --index 1 --partial '"order":["enrich","score","draft","store","notify"]'
	assert_line --index 2 --partial '"name":"nightly-report"'
}

@test "the example in docs/workflow-format.md validates" {
	awk '/^```json$/ { on = 1; next } /^```$/ { if (on) exit } on' \
		"$BATS_TEST_DIRNAME/../docs/workflow-format.md" >"$T/doc.json"
	run sov-wf validate "$T/doc.json"
	assert_success
	assert_output --partial '"order":["enrich","score","draft","store"]'
}

@test "graph: DOT with steps, kinds, needs, if and undo" {
	run sov-wf graph "$EX/lead.json"
	assert_success
	assert_line --index 0 'digraph "lead" {'
	assert_output --partial '"step:enrich" [label="enrich\n(run)"];'
	assert_output --partial '"step:notify" [label="notify\n(http POST)"];'
	assert_output --partial '"step:enrich" -> "step:score";'
	assert_output --partial '"step:score" -> "step:draft" [style=dashed, label="if"];'
	assert_output --partial 'if .steps.score.score >= 70", style="rounded,dashed"'
	assert_output --partial '"undo:store" [shape=note'
	assert_output --partial '"step:store" -> "undo:store" [style=dotted'
	assert_line --index $((${#lines[@]} - 1)) '}'
}

@test "graph: quotes and backslashes in a condition are escaped" {
	jq -n --arg p '.x == "q\"" or .y == "\\"' \
		'{name: "w", version: 1, steps: {a: {run: ["x"], if: $p}}}' >"$T/q.json"
	run sov-wf validate "$T/q.json"
	assert_success
	run sov-wf graph "$T/q.json"
	assert_success
	assert_output --partial 'if .x == \"q\\\"\" or .y == \"\\\\\"", style='
	command -v dot >/dev/null || skip "graphviz (dot) is not installed"
	sov-wf graph "$T/q.json" >"$T/q.dot"
	run dot -Tsvg "$T/q.dot"
	assert_success
	assert_output --partial 'if .x == &quot;q\&quot;&quot; or .y == &quot;\\&quot;'
}

@test "graph --format svg through Graphviz" {
	command -v dot >/dev/null || skip "graphviz (dot) is not installed"
	run sov-wf graph --format svg "$EX/lead.json"
	assert_success
	assert_output --partial "<svg"
	assert_output --partial "enrich"
	assert_output --partial "</svg>"
}

@test "graph --format svg without Graphviz: exit 2, saying so" {
	run env PATH="$T/nothing" "$SOV_BUILD/sov-wf" graph --format svg "$EX/lead.json"
	assert_failure 2
	assert_output --partial "graphviz is not installed"
	assert_output --partial "--format dot"
}

@test "graph: bad format, bad arguments, bad file" {
	run sov-wf graph --format png "$EX/lead.json"
	assert_failure 2
	assert_output --partial 'want dot or svg'
	run sov-wf graph
	assert_failure 2
	run sov-wf graph "$EX/lead.json" "$EX/lead.json"
	assert_failure 2
	printf '{"name":"w","version":1,"steps":{"a":{"run":["x"],"needs":["a"]}}}' >"$T/self.json"
	run sov-wf graph "$T/self.json"
	assert_failure 2
	assert_output "sov-wf: $T/self.json: steps.a.needs[0]: a step cannot need itself"
}

# The example scripts, as a worker would run them: JSON in, JSON out.
@test "example scripts: the lead pipeline by hand, and its undo" {
	command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
	command -v jq >/dev/null || skip "jq is not installed"
	export PATH="$EX/bin:$PATH" LEAD_DB="$T/customers.db"
	lead='{"email":"ada@example.com","name":"Ada","title":"CTO","message":"We would like to automate our lead handling end to end."}'
	run lead-enrich <<<"$lead"
	assert_success
	enriched=$output
	run jq -ce '[.company, .domain, .free_mail]' <<<"$enriched"
	assert_output '["Example","example.com",false]'
	run lead-store <<<"$(jq -c '. + {score: 90}' <<<"$enriched")"
	assert_success
	stored=$output
	run jq -e '.id == 1' <<<"$stored"
	assert_success
	# at least once: a second run updates the same row
	run lead-store <<<"$(jq -c '. + {score: 95}' <<<"$enriched")"
	assert_output "$stored"
	run sqlite3 "$LEAD_DB" 'select count(*), max(score) from customers'
	assert_output '1|95'
	run lead-draft <<<"$(jq -c '. + {score: 95}' <<<"$enriched")"
	assert_success
	run jq -re '.subject' <<<"$output"
	assert_output 'Following up: Example'
	run report-leads <<<'{"days":1}'
	assert_success
	run jq -ce '[.leads, .hot]' <<<"$output"
	assert_output '[1,1]'
	run lead-unstore <<<"{\"input\":{},\"output\":$stored}"
	assert_success
	assert_output '{"deleted":1}'
	run lead-unstore <<<"{\"input\":{},\"output\":$stored}"
	assert_success
	run sqlite3 "$LEAD_DB" 'select count(*) from customers'
	assert_output '0'
	run lead-enrich <<<'{"email":"not an email"}'
	assert_failure 2
}

@test "example scripts: invoice reminders marked, and unmarked by the undo" {
	command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
	command -v jq >/dev/null || skip "jq is not installed"
	export PATH="$EX/bin:$PATH" INVOICE_DB="$T/invoices.db"
	run invoice-due <<<'{"overdue_days":14}'
	assert_success
	assert_output '{"invoices":[]}'
	sqlite3 "$INVOICE_DB" "insert into invoices (number, email, amount, due)
		values ('A-1', 'a@x.org', 100, '2020-01-01'),
		       ('A-2', 'b@x.org', 5, '2999-01-01')"
	run invoice-due <<<'{"overdue_days":14}'
	due=$output
	run jq -ce '[.invoices[].number]' <<<"$due"
	assert_output '["A-1"]'
	run invoice-mark <<<"$due"
	assert_success
	marked=$output
	assert_output '{"marked":[{"id":1,"was":null}]}'
	run invoice-due <<<'{"overdue_days":14}'
	assert_output '{"invoices":[]}'
	run invoice-mark --undo <<<"$marked"
	assert_success
	assert_output '{"restored":1}'
	run invoice-due <<<'{"overdue_days":14}'
	assert_output "$due"
}
