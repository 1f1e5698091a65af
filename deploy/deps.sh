#!/usr/bin/env bash
# Install every Debian package Tandem needs to build, test, fuzz and run the
# demo. Idempotent: installs only what is missing, and runs `apt-get update`
# once, only when something is missing. Needs root (or sudo) on Debian 12.
set -euo pipefail

PKGS=(
	# toolchain
	build-essential cmake pkg-config clang libclang-rt-14-dev clang-format
	# libraries (../shared/ARCHITECTURE.md)
	libevent-dev libssl-dev libpq-dev libcunit1-dev libc-ares-dev
	libinih-dev libjansson-dev libpcre2-dev
	# sd_notify for systemd Type=notify (b2bua/notify.c)
	libsystemd-dev
	# real peers for integration tests and the demo: PostgreSQL, SIPp,
	# dnsmasq (an RFC 3263 DNS zone on 127.0.0.1), openssl (test CAs)
	postgresql sip-tester dnsmasq-base openssl
	# SIP scanners (svmap, svwar, svcrack) for the scanner tests
	sipvicious
	# Kamailio's dispatcher in front of several tandemd nodes: the
	# deploy/cluster/ example and its test (tests/cluster/)
	kamailio
	# packaging checks (tests/pkg, ctest -L pkg): groff for the man pages,
	# systemd-analyze (the unit; systemd need not run), setpriv, ss, python3
	groff-base systemd util-linux iproute2 python3
	# libsrtp2 from Debian's source package, built on OpenSSL (srtp.sh)
	dpkg-dev
)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

install_missing() {
	local SUDO=
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || {
			echo "deps: need root to install: ${missing[*]}" >&2
			exit 1
		}
		SUDO=sudo
	fi
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" \
		>/dev/null
}

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#PKGS[@]} packages present"
else
	install_missing
fi

# libsrtp2 on OpenSSL into <repo>/.deps/srtp (skips when already built;
# ../shared/ARCHITECTURE.md "Dependency notes").
"$(dirname "$0")/srtp.sh"
echo "deps: done"
