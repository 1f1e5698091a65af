#!/usr/bin/env bash
# Build libsrtp2 against OpenSSL into a prefix inside the tree (static lib).
#
# Why: Debian's binary libsrtp2-1 is built on NSS and costs ~6x more per
# packet (../shared/ARCHITECTURE.md, "Dependency notes"). We build the same
# release from Debian's own source package with ./configure --enable-openssl.
#
# Usage: deploy/srtp.sh [prefix]   (default: <repo>/.deps/srtp, or
#        $TANDEM_SRTP_PREFIX). Called by deploy/deps.sh. Needs root (or
#        sudo) only when packages or deb-src entries are missing.
#
# Idempotent: when the prefix already holds lib/libsrtp2.a and
# include/srtp2/srtp.h of an OpenSSL build (check_prefix below), it does
# nothing. Otherwise it (1) installs the build needs, (2) enables Debian's
# deb-src entries without touching the others, (3) `apt-get source libsrtp2`
# into a temporary folder, (4) configure --enable-openssl, make, make install
# into a fresh prefix, (5) verifies the result and writes a marker file.
#
# The OpenSSL check (check_openssl): the archive must reference OpenSSL's
# EVP AES-GCM ciphers (EVP_aes_128_gcm, EVP_aes_256_gcm: only the OpenSSL
# back-end has AES-GCM besides NSS) and must reference no NSS symbol (PK11_,
# NSS_). The internal-crypto build has neither EVP nor GCM; the NSS build
# has PK11_ references. Unattended: no prompt, prints every step.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
prefix=${1:-${TANDEM_SRTP_PREFIX:-$root/.deps/srtp}}
marker="$prefix/.tandem-srtp-openssl"
NEEDS=(build-essential dpkg-dev libssl-dev pkg-config binutils util-linux)
APT_OPTS=(-o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
t0=$(date +%s)

say() { echo "srtp: $*"; }
die() {
	echo "srtp: ERROR: $*" >&2
	exit 1
}

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi
as_root() {
	if [ -n "$SUDO" ] && ! command -v sudo >/dev/null; then
		die "need root for: $*"
	fi
	$SUDO "$@"
}

# $1: libsrtp2.a. Succeeds only for an OpenSSL build (see header).
check_openssl() {
	local syms
	syms=$(nm -A "$1" 2>/dev/null) || return 1
	grep -q ' U EVP_aes_128_gcm$' <<<"$syms" || return 1
	grep -q ' U EVP_aes_256_gcm$' <<<"$syms" || return 1
	grep -q ' U EVP_EncryptInit_ex$' <<<"$syms" || return 1
	! grep -Eq ' U (PK11_|NSS_)' <<<"$syms"
}

check_prefix() {
	[ -f "$marker" ] && [ -f "$prefix/lib/libsrtp2.a" ] &&
		[ -f "$prefix/include/srtp2/srtp.h" ] &&
		command -v nm >/dev/null && check_openssl "$prefix/lib/libsrtp2.a"
}

if check_prefix; then
	say "OpenSSL build present in $prefix ($(cat "$marker")): skip"
	exit 0
fi

# --- 1. what the build needs -------------------------------------------
apt_updated=0
apt_update() {
	say "apt-get update"
	as_root apt-get "${APT_OPTS[@]}" update -qq
	apt_updated=1
}
missing=()
for p in "${NEEDS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed' || missing+=("$p")
done
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ]; then
	apt_update
	say "installing ${missing[*]}"
	as_root apt-get "${APT_OPTS[@]}" install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
fi

# --- 2. Debian's deb-src entries ---------------------------------------
# deb822 (Debian 12: /etc/apt/sources.list.d/debian.sources): in a file
# whose URIs are all Debian archives, add deb-src to every "Types:" line
# that lacks it. Classic sources.list: after each
# "deb" line of a Debian archive, add the same line as "deb-src" unless the
# file has it already. Other entries are left as they are; originals are
# kept in /var/backups/tandem-apt/ (not beside them, where apt reads).
backup() { # file
	as_root mkdir -p /var/backups/tandem-apt
	as_root cp -p "$1" "/var/backups/tandem-apt/$(basename "$1")"
}
enable_src_deb822() { # file
	grep -Eq '^Types:.*\bdeb\b' "$1" || return 0
	grep -E '^Types:' "$1" | grep -vq 'deb-src' || return 0
	# only files of Debian archives: a third-party repository may have no
	# sources, and its 404 would fail apt-get update
	grep -E '^URIs:' "$1" | grep -vq debian && return 0
	say "adding deb-src to the Types: lines of $1"
	backup "$1"
	as_root sed -i -E '/^Types:/{/deb-src/!s/$/ deb-src/}' "$1"
}
enable_src_list() { # file
	local tmp
	grep -Eq '^[[:space:]]*deb[[:space:]].*debian' "$1" || return 0
	tmp=$(mktemp)
	awk '{ seen[$0] = 1; line[NR] = $0 }
	END {
		for (i = 1; i <= NR; i++) {
			print line[i]
			if (line[i] ~ /^[ \t]*deb[ \t]/ && line[i] ~ /debian/) {
				s = line[i]
				sub(/deb/, "deb-src", s)
				if (!(s in seen)) { print s; seen[s] = 1 }
			}
		}
	}' "$1" >"$tmp"
	if cmp -s "$1" "$tmp"; then
		rm -f "$tmp"
		return 0
	fi
	say "adding deb-src lines to $1"
	backup "$1"
	as_root sh -c "cat '$tmp' > '$1'"
	rm -f "$tmp"
}
have_src() { apt-cache showsrc libsrtp2 2>/dev/null | grep -q '^Package:'; }

if ! have_src; then
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && enable_src_deb822 "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] && enable_src_list "$f"
	done
	apt_update
	have_src || die "no source package libsrtp2 even with deb-src enabled"
fi

# --- 3. the source package -----------------------------------------------
work=$(mktemp -d /tmp/tandem-srtp.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work" # apt's _apt sandbox user writes the download here
say "apt-get source libsrtp2 into $work"
(cd "$work" && apt-get "${APT_OPTS[@]}" source -qq libsrtp2 >source.log 2>&1) ||
	{
		cat "$work/source.log" >&2
		die "apt-get source libsrtp2 failed"
	}
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'libsrtp2-*' | head -1)
[ -n "$src" ] && [ -x "$src/configure" ] || die "no unpacked source in $work"
version=$(sed -n 's/^Version: //p' "$work"/libsrtp2_*.dsc | head -1)
say "source: $(basename "$src") (Debian $version)"

# --- 4. build and install ------------------------------------------------
# The build is static only (the Makefile's default target is libsrtp2.a;
# the shared library is a separate target we do not build). -fPIC is in
# the Makefile's CFLAGS already; we add it so a PIE or shared consumer links
# either way. A fresh prefix: nothing of an older build stays.
mkdir -p "$(dirname "$prefix")"
exec 9>"$prefix.lock"
flock 9
rm -rf "$prefix"
say "configure --enable-openssl --prefix=$prefix"
(cd "$src" && CFLAGS="-O2 -g -fPIC" ./configure --enable-openssl \
	--prefix="$prefix" >"$work/configure.log" 2>&1) || {
	tail -40 "$work/configure.log" >&2
	die "configure failed"
}
grep -q '^#define OPENSSL 1' "$src/crypto/include/config.h" ||
	die "configure did not select OpenSSL (crypto/include/config.h)"
grep -q '^#define GCM 1' "$src/crypto/include/config.h" ||
	die "configure did not enable AES-GCM"
say "make -j2 (static libsrtp2.a)"
(cd "$src" && make -j2 libsrtp2.a >"$work/make.log" 2>&1) || {
	tail -40 "$work/make.log" >&2
	die "make failed"
}
say "make install"
(cd "$src" && make install >"$work/install.log" 2>&1) || {
	tail -40 "$work/install.log" >&2
	die "make install failed"
}
rm -f "$prefix"/lib/libsrtp2.so*

# --- 5. verify -------------------------------------------------------------
[ -f "$prefix/lib/libsrtp2.a" ] && [ -f "$prefix/include/srtp2/srtp.h" ] ||
	die "install left no lib/libsrtp2.a or include/srtp2/srtp.h in $prefix"
check_openssl "$prefix/lib/libsrtp2.a" ||
	die "$prefix/lib/libsrtp2.a is not an OpenSSL build (EVP AES-GCM missing or NSS symbols present)"
echo "libsrtp2 $version openssl" >"$marker"
say "OpenSSL build of libsrtp2 $version installed in $prefix in $(($(date +%s) - t0)) s"
