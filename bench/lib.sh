# lib.sh - what the bench scripts share; sourced (`. bench/lib.sh`) from the
# repository's root.

# apt_need PACKAGES: install the Debian packages a bench lacks (a list that
# starts with a blank, as the scripts build it; empty: nothing to do), or
# say what to install when not root.
apt_need() {
	[ -n "$1" ] || return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "bench: needs$1; as root: apt-get install$1" >&2
		exit 1
	fi
	echo "bench: installing$1 (apt-get)"
	apt-get update -qq
	# shellcheck disable=SC2086 # package names, split on purpose
	apt-get install -y -qq --no-install-recommends $1 >/dev/null
}
