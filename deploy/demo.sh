#!/usr/bin/env bash
# Tandem demo.
#
# The daemon (tandemd) does not exist yet: the SIP stack underneath it
# (message layer, transports, transactions) has landed, the call object and
# the daemon have not. So, honestly, this demo does what can be shown
# today: it installs what is missing, builds, runs the SIP parser over the
# RFC 4475 and RFC 5118 torture messages and shows what it accepted and
# what it refused (with the status and reason phrase a UAS
# would answer), then prints parse-rate figures. When tandemd lands, this
# script grows into the full job: private PostgreSQL, sample policy, SIPp
# calls with RTP through Tandem, CDRs and stats.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
corpora="${TANDEM_CORPORA:-$root/../shared/corpora}"

./deploy/deps.sh
cmake -S "$root" -B "$root/build-demo" -DCMAKE_BUILD_TYPE=Release \
	>/dev/null
cmake --build "$root/build-demo" -j "$(nproc)" --target sipcat \
	parse_bench >/dev/null

sipcat="$root/build-demo/tests/sipcat"
echo
echo "== Tandem demo (SIP message layer only: tandemd is not written yet)"
if [ -d "$corpora/rfc4475" ]; then
	echo
	echo "-- RFC 4475 torture messages (valid ones parse; invalid ones are"
	echo "   refused with the answer a UAS would send, or dropped)"
	(cd "$corpora" && "$sipcat" rfc4475/*.dat)
	echo
	echo "-- RFC 5118 IPv6 messages (wire form)"
	(cd "$corpora" && "$sipcat" -v rfc5118/wire/ipv6-good.sip \
		rfc5118/wire/port-ambiguous.sip rfc5118/wire/ipv6-bad.sip)
else
	echo "(corpora not found at $corpora: set TANDEM_CORPORA)"
fi
echo
echo "-- parse rate against a memchr line scan of the same bytes"
"$root/build-demo/tests/bench/parse_bench" 50000
echo
echo "Next: ./deploy/test.sh runs every test; tests/bench has the figures."
