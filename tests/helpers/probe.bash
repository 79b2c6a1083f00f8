# probe.bash - loaded by the sov-probe bats files: a targets file from a
# JSON fragment, and a field of one target's record.

targets() { # targets JSON-OBJECT-BODY -> file with those targets
	printf '{"targets":{%s}}\n' "$1" >"$BATS_TEST_TMPDIR/t.json"
	echo "$BATS_TEST_TMPDIR/t.json"
}

# the field of the record of target $2 in output $1
field() {
	jq -r --arg t "$2" "select((.target // .name) == \$t) | $3" <<<"$1"
}
