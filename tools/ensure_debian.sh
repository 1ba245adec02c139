#!/bin/sh
# Install Debian packages the tests need (e.g. mosquitto) when they are missing.
# Usage: sh tools/ensure_debian.sh mosquitto [more packages]
missing=""
for pkg in "$@"; do
    # "dpkg -s" also succeeds for a removed package whose config files remain
    [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = "install ok installed" ] || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing Debian packages:$missing"
if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing; } >/tmp/ensure_debian.log 2>&1; then
    echo "could not install$missing with apt-get (see /tmp/ensure_debian.log); install it and run again" >&2
    exit 1
fi
