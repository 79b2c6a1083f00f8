#!/bin/sh
# dns-hook.sh - sov-cert's dns-01 hook for the tests: HOOK set|unset NAME
# VALUE, on pebble-challtestsrv's management API ($PEBBLE_MGMT). Every call
# is logged to $HOOK_LOG when set.
set -eu
[ -z "${HOOK_LOG:-}" ] || echo "$*" >>"$HOOK_LOG"
case $1 in
set) curl -sf -d "{\"host\":\"$2.\",\"value\":\"$3\"}" "$PEBBLE_MGMT/set-txt" ;;
unset) curl -sf -d "{\"host\":\"$2.\"}" "$PEBBLE_MGMT/clear-txt" ;;
*) exit 2 ;;
esac
