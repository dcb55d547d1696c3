#!/bin/sh
# SPDX-License-Identifier: MPL-2.0
# Runs a command with a private /etc/hosts in which v6only.test names ::1
# alone, so that resolving a host name to IPv6 can be tested on a machine
# whose own hosts file has no IPv6 name. Needs a mount namespace (root, or
# a kernel that allows unprivileged ones).
set -eu
hosts=$(mktemp)
trap 'rm -f "$hosts"' EXIT
printf '127.0.0.1 localhost\n::1 v6only.test\n' > "$hosts"
if ! unshare -m true 2>/dev/null; then
    echo "with_hosts.sh: cannot make a mount namespace (unshare -m): run as root" >&2
    exit 1
fi
unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$hosts" "$@"
