#!/usr/bin/env bash
# One B2BUA call-flow test (the B2BUA issue, RFC 3261 + 3262/3311/4028/
# 3515/2976 flows) through a real tandemd between a "carrier" SIPp and
# one or two "PBX" SIPps; registered with ctest by CMakeLists.txt here.
#
#   run_b2b.sh CASE TANDEMD SCENARIO_DIR
#
# Loopback addresses, distinct per role so topology hiding can be
# checked: carrier 127.0.0.2, tandemd 127.0.0.1, PBX 127.0.0.3 (second
# target 127.0.0.4). Writes a config, starts tandemd with -o overrides,
# the PBX SIPp(s) (scenarios/b2b_CASE_pbx*.xml), then the carrier
# (scenarios/b2b_CASE_carrier.xml). Every process is bounded (SIPp by
# -timeout and -m 1, all by a wall-clock kill by PID); every exit code is
# checked; tandemd is stopped by SIGTERM and must exit 0. The scenarios
# assert what each far side received (<ereg> checks); this script adds a
# leak scan of every received message and the To-tag coherence of the
# carrier's INVITE responses. Cases with METRICS enable the management
# API and, once the calls are over, check GET /metrics sample by sample;
# cases with PG_SQL take their policy from a private PostgreSQL (pg.sh)
# that also receives the CDRs.
#
# TANDEMD=direct is a dry run without tandemd: the carrier calls the
# answering (last) PBX itself, and the checks that only a B2BUA can pass
# (the ones assigning to $th) are turned off. Cases tandemd handles on
# its own (no route, 483, 403, session refresh, REFER, digest, limits,
# drain) skip there.
#
# Exit 0 pass, 1 fail, 2 usage, 77 skip (sipp missing). Kills only the
# PIDs it started. Env: SIPP (the sipp binary), KEEP=1 keeps the logs.
set -euo pipefail

if [ $# -ne 3 ]; then
	echo "usage: $0 CASE TANDEMD|direct SCENARIO_DIR" >&2
	exit 2
fi
CASE=$1
TANDEMD=$2
SCEN=$(cd "$3" && pwd)
SIPP=${SIPP:-sipp}
WALL=40     # s: every process is killed after this
SIPP_TMO=25 # s: SIPp's own -timeout
DIRECT=0
[ "$TANDEMD" = direct ] && DIRECT=1

if ! command -v "$SIPP" >/dev/null 2>&1; then
	echo "SKIP: $CASE: sipp not found"
	exit 77
fi
if [ "$DIRECT" -eq 0 ] && [ ! -x "$TANDEMD" ]; then
	echo "no tandemd at $TANDEMD" >&2
	exit 2
fi

C_IP=127.0.0.2 # carrier
T_IP=127.0.0.1 # tandemd
P1_IP=127.0.0.3
P2_IP=127.0.0.4
# The scenarios call 15550001111 (matches [route.pbx]) and transfer to
# 15560002222 ([route.xfer]); 49990000000 matches no route.

# ---- the cases ------------------------------------------------------------
# PBXS: the PBX SIPps, "file-suffix:ip[:tcp]" each, the answering one last;
# OPTS: -o overrides; NODIRECT: why the dry run cannot play it.
PBXS=("pbx:$P1_IP")
OPTS=()
NODIRECT=""
C2_AFTER=""   # s after the carrier: a second carrier (b2b_CASE_carrier2.xml)
TERM_AFTER="" # s after the carrier: SIGTERM to tandemd (drain)
WAIT_LOG=""   # the carrier waits until tandemd has logged this
C_ARGS=()     # more SIPp arguments for the carrier
NOCARRIER=""  # no call: the PBX SIPp(s) alone talk to tandemd
PBX_FIRST=""  # the PBX SIPp(s) listen before tandemd starts
DNS_RECS=()   # records for a DNS stub on 127.0.0.1:@DNS@ (dns_stub.py)
SCEN_CASE=""  # play the scenarios of that case instead of CASE's
SCEN_BASE=""  # that case's scenario where CASE has none of the name
PEERS=()      # srtp_peer roles the scenarios start (their results checked)
METRICS=()    # "SAMPLE OP VALUE" checks of GET /metrics once the calls are over
PG_SQL=""     # policy rows: a private PostgreSQL (pg.sh) is the policy
              # source and the CDR database instead of [route.*]
TWO="route.pbx.targets=$P1_IP:@P1@,$P2_IP:@P2@"
case "$CASE" in
basic_carrier_bye | basic_pbx_bye | cancel | fork | early_media | \
	hold_carrier | hold_pbx | offerless_reinvite | update | info_dtmf | \
	prack | max_forwards) ;;
session_timer) NODIRECT="tandemd answers the refresh" ;;
busy_failover)
	PBXS=("pbx1:$P1_IP" "pbx2:$P2_IP")
	OPTS=(-o "$TWO" -o "route.pbx.failover=408,480,486,503")
	;;
noanswer_failover)
	PBXS=("pbx1:$P1_IP" "pbx2:$P2_IP")
	OPTS=(-o "$TWO" -o limits.no_answer_s=2)
	;;
unavail_failover)
	PBXS=("pbx1:$P1_IP" "pbx2:$P2_IP")
	OPTS=(-o "$TWO")
	;;
refer)
	PBXS=("pbx1:$P1_IP" "pbx2:$P2_IP")
	OPTS=(-o sip.refer=yes)
	NODIRECT="tandemd handles the REFER"
	;;
refer_srtp)
	# the transfer target's trunk requires SRTP, the transferor's is plain:
	# the new leg's offer follows its own trunk (refer's other scenarios)
	PBXS=("pbx1:$P1_IP" "pbx2:$P2_IP")
	OPTS=(-o sip.refer=yes -o route.xfer.srtp=mandatory)
	SCEN_BASE=refer
	NODIRECT="tandemd handles the REFER"
	;;
digest)
	# the route's credentials for the PBX challenge
	OPTS=(-o route.pbx.auth_user=tandem -o route.pbx.auth_pass=s3cret)
	NODIRECT="tandemd answers the challenge"
	;;
info_timeout)
	OPTS=(-o sip.t1=100) # Timer F 6.4 s
	NODIRECT="tandemd answers 408"
	;;
busy_relayed | message | reinvite_rejected | invite_retrans | \
	sdp_video_refused) ;;
srtp_carrier)
	# the carrier speaks SRTP (mandatory), the PBX plain RTP
	OPTS=(-o sip.srtp=mandatory)
	PEERS=(a b)
	NODIRECT="tandemd terminates SRTP"
	;;
srtp_pbx)
	# the PBX trunk requires SRTP, the carrier speaks plain RTP
	OPTS=(-o route.pbx.srtp=mandatory)
	PEERS=(a b)
	NODIRECT="tandemd adds SRTP"
	;;
srtp_passthrough)
	# both trunks srtp = off (the default): a=crypto crosses unchanged
	# and SRTP passes the relay opaque, keyed end to end
	OPTS=(-o sip.srtp=off -o route.pbx.srtp=off)
	PEERS=(a b)
	NODIRECT="the relay carries the media"
	;;
srtp_suite32)
	# as srtp_carrier, the carrier's offer with AES_CM_128_HMAC_SHA1_32
	OPTS=(-o sip.srtp=mandatory)
	PEERS=(a b)
	NODIRECT="tandemd terminates SRTP"
	;;
srtp_both)
	# SRTP on both legs, each with its own keys: the relay re-keys
	OPTS=(-o sip.srtp=mandatory -o route.pbx.srtp=optional)
	PEERS=(a b)
	NODIRECT="tandemd terminates SRTP"
	;;
srtp_optional)
	# optional on both legs and a plain offer: no SRTP anywhere
	OPTS=(-o sip.srtp=optional -o route.pbx.srtp=optional)
	PEERS=(a b)
	NODIRECT="the relay carries the media"
	;;
srtp_pbx_plain)
	# the PBX trunk requires SRTP and its PBX answers plain RTP
	OPTS=(-o route.pbx.srtp=mandatory)
	NODIRECT="tandemd refuses the answer"
	;;
srtp_required)
	OPTS=(-o sip.srtp=mandatory)
	PBXS=()
	NODIRECT="tandemd answers 488"
	;;
dns_a | dns_srv | dns_failover)
	# the PBX trunk named by DNS, resolved through a stub server (RFC
	# 3263): by A with the port given, or by SRV without one
	DNS_RECS=("pbx.tandem.test=A:$P1_IP"
		"_sip._udp.pbxsrv.tandem.test=SRV:10,1,@P1@,pbx.tandem.test")
	if [ "$CASE" = dns_a ]; then
		OPTS=(-o "route.pbx.targets=pbx.tandem.test:@P1@")
	elif [ "$CASE" = dns_failover ]; then
		# the first server (priority 10) is silent: Timer B (t1 100
		# ms: 6.4 s), then the next one of the domain (§4.3)
		DNS_RECS+=("dead.tandem.test=A:$P2_IP"
			"_sip._udp.pbx2srv.tandem.test=SRV:10,1,@P2@,dead.tandem.test"
			"_sip._udp.pbx2srv.tandem.test=SRV:20,1,@P1@,pbx.tandem.test")
		OPTS=(-o "route.pbx.targets=pbx2srv.tandem.test" -o sip.t1=100)
	else
		OPTS=(-o "route.pbx.targets=pbxsrv.tandem.test")
	fi
	OPTS+=(-o "sip.dns_servers=127.0.0.1:@DNS@")
	NODIRECT="tandemd resolves the trunk"
	WAIT_LOG="trunk host .* destination"
	SCEN_CASE=basic_carrier_bye
	;;
headers)
	# the PBX trunk's header policy: strip but X-Account, add two
	OPTS=(-o route.pbx.header_policy=strip -o route.pbx.header_list=X-Account
		-o "route.pbx.header_add=X-Tenant: acme | Subject: replaced")
	NODIRECT="tandemd applies the header policy"
	;;
status_map)
	# the PBX's 486 is answered 600 (policy), Reason cause=486
	OPTS=(-o route.pbx.status_map=486=600,503=480)
	NODIRECT="tandemd translates the status"
	;;
redirect)
	# pbx1 answers 302 naming 5555 at the [route.xfer] trunk (pbx2)
	PBXS=("pbx1:$P1_IP" "pbx2:$P2_IP")
	NODIRECT="tandemd follows the 302"
	;;
redirect_relay)
	# the PBX trunk's policy relays its 3xx: the carrier gets the 302
	OPTS=(-o route.pbx.redirect=relay)
	NODIRECT="tandemd puts each Contact on its own line"
	;;
digest_in)
	# the carrier authenticates to tandemd (407, sip.auth_user)
	OPTS=(-o sip.auth_user=trunkuser -o sip.auth_pass=c4rrier)
	C_ARGS=(-au trunkuser -ap c4rrier -s 15550001111)
	NODIRECT="tandemd challenges"
	;;
register)
	# tandemd registers with the PBX trunk: challenge, 200, refresh
	PBXS=("registrar:$P1_IP")
	OPTS=(-o route.pbx.register=yes -o route.pbx.auth_user=tdm
		-o route.pbx.auth_pass=secret -o route.pbx.register_expires=60)
	NOCARRIER=1
	PBX_FIRST=1
	NODIRECT="tandemd registers"
	;;
cancel_early) NODIRECT="tandemd sends the 100" ;;
trunk_down)
	# nothing listens on the first trunk; OPTIONS every second (t1 100 ms)
	PBXS=("pbx2:$P2_IP")
	OPTS=(-o route.pbx.options_interval=1 -o sip.t1=100
		-o route.pbx2.prefix=1555 -o "route.pbx2.targets=$P2_IP:@P2@")
	WAIT_LOG="trunk pbx/1 is DOWN"
	NODIRECT="tandemd probes the trunk"
	;;
tcp_target)
	PBXS=("pbx:$P1_IP:tcp")
	OPTS=(-o sip.tcp=yes -o "route.pbx.targets=$P1_IP:@P1@/tcp")
	NODIRECT="the carrier speaks UDP, the PBX TCP"
	;;
options)
	PBXS=()
	NODIRECT="tandemd answers"
	;;
rewrite)
	OPTS=(-o route.pbx.strip=1 -o route.pbx.add=00)
	NODIRECT="tandemd rewrites the number"
	;;
max_duration)
	OPTS=(-o limits.max_duration_s=2)
	NODIRECT="tandemd ends the call"
	;;
timeout_failover)
	PBXS=("pbx1:$P1_IP" "pbx2:$P2_IP")
	OPTS=(-o "$TWO" -o sip.t1=100) # Timer B 6.4 s
	;;
overload)
	OPTS=(-o limits.max_calls=1)
	C2_AFTER=0.7 # carrier2 starts while the first call is up
	NODIRECT="tandemd answers"
	;;
drain)
	OPTS=(-o limits.drain_timeout_s=10)
	TERM_AFTER=1 # SIGTERM during the call, then carrier2
	C2_AFTER=0.3
	NODIRECT="tandemd drains"
	;;
metrics_answered)
	# one answered call, carrier hangs up: per-trunk and SIP figures
	SCEN_CASE=basic_carrier_bye
	NODIRECT="tandemd's own metrics"
	METRICS=(
		'tandem_calls_answered_total == 1'
		'tandem_trunk_attempts_total{trunk="pbx/1",direction="out"} == 1'
		'tandem_trunk_answered_total{trunk="pbx/1",direction="out"} == 1'
		'tandem_trunk_billable_seconds_total{trunk="pbx/1",direction="out"} > 0'
		'tandem_trunk_asr{trunk="pbx/1",direction="out"} == 1'
		'tandem_trunk_acd_seconds{trunk="pbx/1",direction="out"} > 0'
		'tandem_trunk_attempts_total{trunk="static-in",direction="in"} == 1'
		'tandem_trunk_answered_total{trunk="static-in",direction="in"} == 1'
		'tandem_trunk_attempts_total{trunk="pbx/1",direction="in"} == 0'
		'tandem_trunk_limit_rejections_total{trunk="pbx/1",reason="calls"} == 0'
		'tandem_sip_responses_total{direction="in",class="2xx"} == 2'
		'tandem_sip_responses_total{direction="out",class="2xx"} == 2'
		'tandem_sip_responses_total{direction="in",class="1xx"} >= 1'
		'tandem_sip_responses_total{direction="out",class="1xx"} >= 1'
		'tandem_sip_responses_total{direction="in",class="4xx"} == 0'
		'tandem_sip_responses_total{direction="out",class="4xx"} == 0'
		'tandem_sip_transactions_created_total == 4'
		'tandem_policy_version == 1'
		'tandem_policy_loaded_timestamp_seconds > 1700000000'
	)
	;;
metrics_busy)
	# the PBX's 486 relayed: a 4xx each way, an attempt not answered
	SCEN_CASE=busy_relayed
	NODIRECT="tandemd's own metrics"
	METRICS=(
		'tandem_trunk_attempts_total{trunk="pbx/1",direction="out"} == 1'
		'tandem_trunk_answered_total{trunk="pbx/1",direction="out"} == 0'
		'tandem_trunk_asr{trunk="pbx/1",direction="out"} == 0'
		'tandem_trunk_billable_seconds_total{trunk="pbx/1",direction="out"} == 0'
		'tandem_trunk_attempts_total{trunk="static-in",direction="in"} == 1'
		'tandem_sip_responses_total{direction="in",class="4xx"} == 1'
		'tandem_sip_responses_total{direction="out",class="4xx"} == 1'
		'tandem_sip_responses_total{direction="in",class="2xx"} == 0'
		'tandem_sip_responses_total{direction="out",class="2xx"} == 0'
		'tandem_calls_failed_total == 1'
	)
	;;
metrics_rtp)
	# plain RTP both ways through the relay (srtp_optional's media)
	SCEN_CASE=srtp_optional
	OPTS=(-o sip.srtp=optional -o route.pbx.srtp=optional)
	PEERS=(a b)
	NODIRECT="the relay carries the media"
	METRICS=(
		'tandem_relay_packets_total == 200'
		'tandem_relay_forwarded_total > 0'
		'tandem_relay_dropped_total{reason="srtp"} == 0'
		'tandem_relay_dropped_total{reason="big"} == 0'
		'tandem_trunk_billable_seconds_total{trunk="pbx/1",direction="out"} >= 3'
		'tandem_media_sessions == 0'
	)
	;;
rtp_latch)
	# the PBX's media end sends from another port than its SDP names
	# (same address): latched, plain RTP both ways, every packet checked
	PEERS=(a b)
	NODIRECT="tandemd's relay latches"
	;;
media_timeout)
	# no RTP from either end: after media.rtp_timeout_s Tandem ends the
	# call with a BYE on both legs (Reason: Media Timeout)
	OPTS=(-o media.rtp_timeout_s=1)
	NODIRECT="tandemd ends the call"
	;;
ice_removed)
	# the carrier's ICE attributes never reach the PBX (the default)
	NODIRECT="tandemd removes the ICE attributes"
	;;
ice_kept)
	# route.pbx.keep_ice: they cross unchanged
	OPTS=(-o route.pbx.keep_ice=yes)
	SCEN_BASE=ice_removed
	NODIRECT="tandemd applies the ICE policy"
	;;
media_address)
	# trunks.media_address from the database policy: the relay's
	# address toward the carrier 127.0.0.31, toward the PBX 127.0.0.32
	NODIRECT="tandemd rewrites the SDP"
	WAIT_LOG="policy version .* published"
	PG_SQL="BEGIN;
INSERT INTO trunks (name, role, host, port, inbound_cidrs, media_address)
VALUES ('carrier', 'carrier', '@C_IP@', @C_PORT@, '{@C_IP@/32}', '127.0.0.31'),
	('pbx', 'pbx', '$P1_IP', @P1@, '{}', '127.0.0.32');
INSERT INTO routes (name, src_trunk_id, called_prefix)
SELECT 'pbx', id, '1555' FROM trunks WHERE name = 'carrier';
INSERT INTO route_targets (route_id, trunk_id)
SELECT r.id, t.id FROM routes r, trunks t WHERE t.name = 'pbx';
COMMIT;"
	;;
media_address_failover)
	# the first target (pbx1, 127.0.0.32) is busy, the second (pbx2) has
	# another media address, 127.0.0.33: the B-leg's streams move there
	# and the new offer says so
	PBXS=("pbx1:$P1_IP" "pbx2:$P2_IP")
	SCEN_BASE=busy_failover
	NODIRECT="tandemd rewrites the SDP"
	WAIT_LOG="policy version .* published"
	PG_SQL="BEGIN;
INSERT INTO trunks (name, role, host, port, inbound_cidrs, media_address)
VALUES ('carrier', 'carrier', '@C_IP@', @C_PORT@, '{@C_IP@/32}', NULL),
	('pbx1', 'pbx', '$P1_IP', @P1@, '{}', '127.0.0.32'),
	('pbx2', 'pbx', '$P2_IP', @P2@, '{}', '127.0.0.33');
INSERT INTO routes (name, src_trunk_id, called_prefix, failover_codes)
SELECT 'pbx', id, '1555', '{408,480,486,503}' FROM trunks
WHERE name = 'carrier';
INSERT INTO route_targets (route_id, trunk_id, priority)
SELECT r.id, t.id, CASE t.name WHEN 'pbx1' THEN 1 ELSE 2 END
FROM routes r, trunks t WHERE t.name IN ('pbx1', 'pbx2');
COMMIT;"
	;;
metrics_limit)
	# the carrier trunk's max_calls = 1 from the database policy: the
	# second call gets 503 while the first is up (overload's flow);
	# counted per trunk, and the CDR writer's queue and the database
	# policy's version and load time exported
	SCEN_CASE=overload
	C2_AFTER=0.7
	NODIRECT="tandemd's own metrics"
	WAIT_LOG="policy version .* published"
	PG_SQL="BEGIN;
INSERT INTO trunks (name, role, host, port, inbound_cidrs, max_calls)
VALUES ('carrier', 'carrier', '@C_IP@', @C_PORT@, '{@C_IP@/32}', 1),
	('pbx', 'pbx', '$P1_IP', @P1@, '{}', 0);
INSERT INTO routes (name, src_trunk_id, called_prefix)
SELECT 'pbx', id, '1555' FROM trunks WHERE name = 'carrier';
INSERT INTO route_targets (route_id, trunk_id)
SELECT r.id, t.id FROM routes r, trunks t WHERE t.name = 'pbx';
COMMIT;"
	METRICS=(
		'tandem_trunk_limit_rejections_total{trunk="carrier",reason="calls"} == 1'
		'tandem_trunk_limit_rejections_total{trunk="carrier",reason="cps"} == 0'
		'tandem_trunk_attempts_total{trunk="carrier",direction="in"} == 2'
		'tandem_trunk_answered_total{trunk="carrier",direction="in"} == 1'
		'tandem_trunk_asr{trunk="carrier",direction="in"} == 0.5'
		'tandem_trunk_attempts_total{trunk="pbx",direction="out"} == 1'
		'tandem_trunk_answered_total{trunk="pbx",direction="out"} == 1'
		'tandem_trunk_calls_active{trunk="carrier"} == 0'
		'tandem_calls_rejected_load_total == 1'
		'tandem_sip_responses_total{direction="out",class="5xx"} == 1'
		'tandem_policy_version >= 1'
		'tandem_policy_load_seconds > 0'
		'tandem_cdr_written_total == 2'
		'tandem_cdr_queue_records == 0'
		'tandem_cdr_spool_bytes == 0'
		'tandem_cdr_db_connected == 1'
	)
	;;
metrics_retrans)
	# the PBX answers only after 1.6 s: Timer A resent the B-leg INVITE
	# at 0.5 and 1.5 s (RFC 3261 §17.1.1.2, T1 500 ms)
	SCEN_CASE=invite_retrans
	NODIRECT="tandemd's own metrics"
	METRICS=(
		'tandem_sip_retransmissions_total{direction="out"} >= 2'
		'tandem_trunk_answered_total{trunk="pbx/1",direction="out"} == 1'
	)
	;;
no_route | max_forwards_zero)
	PBXS=()
	NODIRECT="tandemd answers"
	;;
unknown_source)
	PBXS=()
	C_IP=127.0.0.5 # no trunk there
	NODIRECT="tandemd answers"
	# RFC 3261 §8.2.7: answered statelessly before the transaction
	# layer (b2b_screen): no transaction, no Timer G retransmission
	METRICS=(
		'tandem_sip_source_unknown_total >= 1'
		'tandem_sip_transactions_created_total == 0'
		'tandem_sip_retransmissions_total{direction="out"} == 0'
	)
	;;
*)
	echo "unknown case $CASE" >&2
	exit 2
	;;
esac
if [ -n "$PG_SQL" ] && ! command -v psql >/dev/null 2>&1; then
	echo "SKIP: $CASE: psql (PostgreSQL) not found"
	exit 77
fi
if [ "$DIRECT" -eq 1 ] && [ -n "$NODIRECT" ]; then
	echo "SKIP: $CASE: no dry run ($NODIRECT)"
	exit 77
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tandem-b2b-$CASE.XXXXXX")
PIDS=()
FAILED=0
TD_PID=""
PG_DIR=""
PGSH=$(cd "$(dirname "$0")" && pwd)/pg.sh

cleanup() {
	local rc=$? p f
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	[ -z "$PG_DIR" ] || "$PGSH" stop "$PG_DIR" >/dev/null 2>&1 || true
	if [ "$rc" -ne 0 ]; then
		for f in "$WORK"/*.out "$WORK"/*.err "$WORK"/tandemd.log \
			"$WORK"/*.msg; do
			[ -s "$f" ] || continue
			echo "----- ${f##*/}"
			tail -n 100 "$f"
		done
	fi
	if [ "$rc" -eq 0 ] && [ -z "${KEEP:-}" ]; then
		rm -rf "$WORK"
	else
		echo "logs kept in $WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $CASE: $*"
	FAILED=1
}

# ---- ports ------------------------------------------------------------------

# ip_hex IP: the address as /proc/net/udp prints it (little-endian)
ip_hex() {
	local a b c d
	IFS=. read -r a b c d <<<"$1"
	printf '%02X%02X%02X%02X' "$d" "$c" "$b" "$a"
}

# block_free BASE: no socket on any address uses BASE..BASE+39
block_free() {
	local p re=""
	for p in $(seq "$1" $(($1 + 39))); do
		re="$re|$(printf '%04X' "$p")"
	done
	! cat /proc/net/udp /proc/net/tcp /proc/net/udp6 /proc/net/tcp6 \
		2>/dev/null | awk '{ print $2 }' | grep -Eq ":(${re#|})$"
}

# A block of 40 ports picked by PID in 20000..59999, the next one if busy.
BASE=$((20000 + ($$ % 1000) * 40))
for _ in $(seq 1 100); do
	block_free "$BASE" && break
	BASE=$((BASE + 40))
	[ "$BASE" -lt 60000 ] || BASE=20000
done
block_free "$BASE" || {
	echo "no free port block" >&2
	exit 1
}
T_PORT=$BASE
C_PORT=$((BASE + 1))
P1_PORT=$((BASE + 2))
P2_PORT=$((BASE + 3))
C2_PORT=$((BASE + 4))
DNS_PORT=$((BASE + 5))
C_MPORT=$((BASE + 6)) # SIPp binds media_port and media_port + 2
P1_MPORT=$((BASE + 10))
P2_MPORT=$((BASE + 14))
C2_MPORT=$((BASE + 18))
C_PEER=$((BASE + 9))  # srtp_peer media ports (SIPp's own: MPORT, +2)
P_PEER=$((BASE + 13))
P_PEER2=$((BASE + 15)) # rtp_latch: where the PBX's media really is
RTP_MIN=$((BASE + 20)) # tandemd's relay: 20 ports, 4 a call
API_PORT=$((BASE + 7)) # TCP: the management API (METRICS cases)
RTP_MAX=$((BASE + 39))

# listening IP PORT [tcp]: something is bound to udp IP:PORT (or
# 0.0.0.0:PORT), or listens on tcp IP:PORT
listening() {
	local hex
	hex=$(printf '%04X' "$2")
	if [ "${3:-udp}" = tcp ]; then
		grep -Eq "^ *[0-9]+: ($(ip_hex "$1")|00000000):$hex 00000000:0000 0A" \
			/proc/net/tcp
	else
		grep -Eq "^ *[0-9]+: ($(ip_hex "$1")|00000000):$hex " /proc/net/udp
	fi
}

wait_listening() { # IP PORT PID [tcp]
	local rc=0
	for _ in $(seq 1 100); do
		listening "$1" "$2" "${4:-udp}" && return 0
		kill -0 "$3" 2>/dev/null || break
		sleep 0.05
	done
	if ! kill -0 "$3" 2>/dev/null; then
		wait "$3" || rc=$?
		fail "the process for ${4:-udp} $1:$2 exited $rc before listening"
	else
		fail "nothing listens on ${4:-udp} $1:$2"
	fi
	exit 1
}

# ---- processes ----------------------------------------------------------------

DEADLINE=$(($(date +%s) + WALL))

# wait_bounded PID NAME: its exit status in WAIT_RC; killed (and 137)
# when it outlives the wall-clock deadline
wait_bounded() {
	while kill -0 "$1" 2>/dev/null; do
		if [ "$(date +%s)" -ge "$DEADLINE" ]; then
			fail "$2 still running after ${WALL}s: killed"
			kill -KILL "$1" 2>/dev/null || true
			break
		fi
		sleep 0.1
	done
	WAIT_RC=0
	wait "$1" || WAIT_RC=$?
}

# scenario NAME: the file for this case; in the dry run a copy whose
# B2BUA-only checks ($th) assign without checking
scenario() {
	local f="$SCEN/b2b_${SCEN_CASE:-$CASE}_$1.xml"
	[ -f "$f" ] || [ -z "$SCEN_BASE" ] || f="$SCEN/b2b_${SCEN_BASE}_$1.xml"
	[ -f "$f" ] || {
		echo "no scenario $f" >&2
		exit 2
	}
	if [ "$DIRECT" -eq 1 ]; then
		sed -e '/assign_to="th"/s/ check_it\(_inverse\)\{0,1\}="true"//' \
			"$f" >"$WORK/$1.xml"
		f="$WORK/$1.xml"
	fi
	echo "$f"
}

# start_sipp NAME IP PORT MPORT ARGS...: pid in SIPP_PID
start_sipp() {
	local name=$1 ip=$2 port=$3 mport=$4 sf
	shift 4
	sf=$(scenario "$name")
	(cd "$WORK" && exec "$SIPP" -sf "$sf" -i "$ip" -p "$port" -mi "$ip" \
		-mp "$mport" -m 1 -nostdin -timeout "${SIPP_TMO}s" \
		-timeout_error -trace_msg -message_file "$WORK/$name.msg" \
		-trace_err -error_file "$WORK/$name.err" \
		-key tandem "$T_IP" -key tport "$T_PORT" -key p2port "$P2_PORT" \
		-key cport "$C_PEER" -key pport "$P_PEER" -key pport2 "$P_PEER2" \
		-key srtp_peer "${SRTP_PEER:-srtp_peer}" "$@") \
		>"$WORK/$name.out" 2>&1 </dev/null &
	SIPP_PID=$!
	PIDS+=("$SIPP_PID")
}

write_config() {
	cat >"$WORK/tandem.conf" <<EOF
; run_b2b.sh $CASE
[sip]
listen = $T_IP
port = $T_PORT
t1 = 500
t2 = 4000
server = Tandem-IT
sources = 127.0.0.2/32

[limits]
max_calls = 100
no_answer_s = 15
max_duration_s = 60
drain_timeout_s = 3

[media]
port_min = $RTP_MIN
port_max = $RTP_MAX

[log]
level = debug
target = stderr

[route.pbx]
prefix = 1555
targets = $P1_IP:$P1_PORT

[route.xfer]
prefix = 1556
targets = $P2_IP:$P2_PORT
EOF
	if [ "${#METRICS[@]}" -gt 0 ]; then
		printf '\n[api]\nlisten = %s:%s\n' "$T_IP" "$API_PORT" \
			>>"$WORK/tandem.conf"
	fi
	if [ -n "$PG_SQL" ]; then
		printf '\n[db]\ndsn = %s\n\n[cdr]\nspool_dir = %s\nfsync_ms = 20\n' \
			"$TANDEM_PG_DSN" "$WORK/spool" >>"$WORK/tandem.conf"
	fi
}

# start_pg: a private PostgreSQL, the schema (tandemd -m), PG_SQL's rows
start_pg() {
	local q=$PG_SQL
	chmod 755 "$WORK" # pg.sh runs PostgreSQL as postgres under it
	PG_DIR=$WORK/pg
	"$PGSH" start "$PG_DIR" >"$WORK/pg.out" 2>&1 ||
		{ fail "pg.sh start: $(tail -n 5 "$WORK/pg.out")"; exit 1; }
	# shellcheck disable=SC1091
	. "$PG_DIR/env"
	export PGHOST PGPORT PGUSER PGDATABASE
	write_config
	"$TANDEMD" -m -c "$WORK/tandem.conf" >"$WORK/migrate.log" 2>&1 ||
		{ fail "tandemd -m: $(tail -n 5 "$WORK/migrate.log")"; exit 1; }
	q=${q//@C_IP@/$C_IP}
	q=${q//@C_PORT@/$C_PORT}
	q=${q//@P1@/$P1_PORT}
	q=${q//@P2@/$P2_PORT}
	psql -X -q -v ON_ERROR_STOP=1 >"$WORK/policy.log" 2>&1 <<<"$q" ||
		{ fail "policy: $(cat "$WORK/policy.log")"; exit 1; }
}

start_tandemd() {
	local o opts=()
	for o in "${OPTS[@]}"; do
		o=${o//@P1@/$P1_PORT}
		o=${o//@DNS@/$DNS_PORT}
		opts+=("${o//@P2@/$P2_PORT}")
	done
	write_config
	"$TANDEMD" -c "$WORK/tandem.conf" "${opts[@]}" \
		>"$WORK/tandemd.log" 2>&1 </dev/null &
	TD_PID=$!
	PIDS+=("$TD_PID")
	wait_listening "$T_IP" "$T_PORT" "$TD_PID"
}

stop_tandemd() {
	if [ -n "$TERM_AFTER" ]; then
		# drained: tandemd ends by itself once its last call has ended
		DEADLINE=$(($(date +%s) + 3))
		wait_bounded "$TD_PID" "tandemd (draining, its calls ended)"
		[ "$WAIT_RC" -eq 0 ] || fail "tandemd exited $WAIT_RC after draining"
		return
	fi
	if ! kill -0 "$TD_PID" 2>/dev/null; then
		wait "$TD_PID" || true
		fail "tandemd died during the call"
		return
	fi
	kill -TERM "$TD_PID"
	DEADLINE=$(($(date +%s) + 10))
	wait_bounded "$TD_PID" tandemd
	[ "$WAIT_RC" -eq 0 ] || fail "tandemd exited $WAIT_RC after SIGTERM"
}

# ---- GET /metrics -------------------------------------------------------------

# metric_check TEXT "SAMPLE OP VALUE": the sample (name and labels exactly
# as exposed) is present and its value compares (==, >, >=) to VALUE
metric_check() {
	local want=$1 sample op val got
	read -r sample op val <<<"$2"
	got=$(awk -v s="$sample" '$1 == s { print $2; exit }' <<<"$want")
	[ -n "$got" ] || return 1
	awk -v g="$got" -v o="$op" -v v="$val" 'BEGIN {
		if (o == "==") exit !(g + 0 == v + 0)
		if (o == ">") exit !(g + 0 > v + 0)
		if (o == ">=") exit !(g + 0 >= v + 0)
		exit 1 }'
}

# check_metrics: every METRICS line holds; the calls' end is accounted
# on tandemd's worker just after the last message, so retried for 2 s
check_metrics() {
	local text="" m bad
	for _ in $(seq 1 20); do
		text=$(curl -sS --max-time 2 "http://$T_IP:$API_PORT/metrics") ||
			text=""
		bad=""
		for m in "${METRICS[@]}"; do
			metric_check "$text" "$m" || bad="$bad; $m"
		done
		[ -n "$bad" ] || break
		sleep 0.1
	done
	printf '%s\n' "$text" >"$WORK/metrics.txt"
	# the exposition format itself, where Prometheus' own linter is
	# installed (Debian's prometheus package)
	if command -v promtool >/dev/null 2>&1 &&
		! promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.out" 2>&1; then
		fail "promtool check metrics: $(tr '\n' ' ' <"$WORK/promtool.out")"
	fi
	if [ -n "$bad" ]; then
		for m in "${METRICS[@]}"; do
			metric_check "$text" "$m" && continue
			fail "metrics: want $m, got: $(awk -v s="${m%% *}" \
				'$1 == s { print $2 }' "$WORK/metrics.txt" |
				head -n 1)"
		done
		return
	fi
	echo "measured: ${#METRICS[@]} /metrics checks hold:" \
		"$(grep -E '^tandem_(relay_packets_total|relay_forwarded_total|sip_retransmissions_total|trunk_billable_seconds_total\{trunk="pbx/1",direction="out"\}|sip_transactions_created_total)' \
			"$WORK/metrics.txt" | tr '\n' ' ')"
}

# ---- what the far sides received ------------------------------------------

# received LOG: every message the SIPp received, blank-line separated
received() {
	[ -f "$1" ] || return 0
	awk '/^-----------------------------------------------/ { rx = 0; next }
		/^(UDP|TCP) message received/ { rx = 1; print ""; next }
		rx' "$1"
}

# leak LOG REGEXP WHAT: no received message matches
leak() {
	local hits
	hits=$(received "$1" | grep -E "$2" | head -n 5 || true)
	[ -z "$hits" ] || fail "${1##*/} received $3: $hits"
}

# rx_ms LOG METHOD: when the SIPp first received METHOD (ms since midnight)
rx_ms() {
	[ -f "$1" ] || { echo 0; return; }
	awk -v m="$2" '/^-----------------------------------------------/ {
			split($3, a, ":"); t = (a[1] * 3600 + a[2] * 60 + a[3]) * 1000
			next }
		/^(UDP|TCP) message received/ { rx = 1; next }
		rx && NF { if ($1 == m) { printf "%d\n", t; exit } rx = 0 }' "$1"
}

# call_ids LOG: the Call-IDs of the messages the SIPp received
call_ids() {
	received "$1" | sed -n 's/^\(Call-ID\|i\): *//p' | tr -d '\r' | sort -u
}

# carrier_tags: the To tags of the carrier's INVITE responses above 100
# (CSeq 1): one A-leg dialog, one tag
carrier_tags() {
	received "$WORK/carrier.msg" | awk '
		/^SIP\/2.0 / { code = $2; tag = ""; next }
		/^(To|t):/ { if (match($0, /tag=[^;> \r]*/))
			tag = substr($0, RSTART + 4, RLENGTH - 4); next }
		/^CSeq: *1 INVITE/ { if (code > 100 && tag != "") print tag }
		/^$/ { code = 0 }' | sort -u
}

# ---- the run ------------------------------------------------------------------

if [ "${#DNS_RECS[@]}" -gt 0 ]; then
	recs=()
	for r in "${DNS_RECS[@]}"; do
		r=${r//@P1@/$P1_PORT}
		recs+=("${r//@P2@/$P2_PORT}")
	done
	python3 "$(dirname "$0")/dns_stub.py" "127.0.0.1:$DNS_PORT" "$WALL" \
		"${recs[@]}" >"$WORK/dns.out" 2>&1 </dev/null &
	PIDS+=("$!")
	wait_listening 127.0.0.1 "$DNS_PORT" "$!"
fi
if [ -n "$PG_SQL" ]; then
	start_pg
fi
if [ "$DIRECT" -eq 0 ] && [ -z "$PBX_FIRST" ]; then
	start_tandemd
	DEST="$T_IP:$T_PORT"
fi
NPBX=${#PBXS[@]}
PBX_PIDS=()
PBX_NAMES=()
for i in $(seq 0 $((NPBX - 1))); do
	IFS=: read -r name ip proto <<<"${PBXS[$i]}"
	proto=${proto:-udp}
	if [ "$ip" = "$P1_IP" ]; then port=$P1_PORT mport=$P1_MPORT; else
		port=$P2_PORT mport=$P2_MPORT
	fi
	# the dry run plays only the answering PBX
	if [ "$DIRECT" -eq 1 ] && [ "$i" -ne $((NPBX - 1)) ]; then continue; fi
	if [ "$proto" = tcp ]; then
		start_sipp "$name" "$ip" "$port" "$mport" -t t1
	else
		start_sipp "$name" "$ip" "$port" "$mport"
	fi
	wait_listening "$ip" "$port" "$SIPP_PID" "$proto"
	PBX_PIDS+=("$SIPP_PID")
	PBX_NAMES+=("$name")
	[ "$DIRECT" -eq 0 ] || DEST="$ip:$port"
done
if [ "$DIRECT" -eq 0 ] && [ -n "$PBX_FIRST" ]; then
	start_tandemd
	DEST="$T_IP:$T_PORT"
fi

if [ -n "$WAIT_LOG" ]; then
	for _ in $(seq 1 150); do
		grep -q "$WAIT_LOG" "$WORK/tandemd.log" && break
		sleep 0.1
	done
	grep -q "$WAIT_LOG" "$WORK/tandemd.log" || {
		fail "tandemd did not log \"$WAIT_LOG\" within 15 s"
		exit 1
	}
fi
CARRIERS=()
CARRIER_PIDS=()
if [ -z "$NOCARRIER" ]; then
	start_sipp carrier "$C_IP" "$C_PORT" "$C_MPORT" \
		-cid_str "carrier-%u-%p@%s" "${C_ARGS[@]}" "$DEST"
	CARRIERS=(carrier)
	CARRIER_PIDS=("$SIPP_PID")
fi
if [ -n "$TERM_AFTER" ]; then
	sleep "$TERM_AFTER"
	kill -TERM "$TD_PID"
fi
if [ -n "$C2_AFTER" ]; then
	sleep "$C2_AFTER"
	start_sipp carrier2 "$C_IP" "$C2_PORT" "$C2_MPORT" \
		-cid_str "carrier-%u-%p@%s" "$DEST"
	CARRIERS+=(carrier2)
	CARRIER_PIDS+=("$SIPP_PID")
fi
for i in "${!CARRIER_PIDS[@]}"; do
	wait_bounded "${CARRIER_PIDS[$i]}" "${CARRIERS[$i]}"
	[ "$WAIT_RC" -eq 0 ] || fail "${CARRIERS[$i]} SIPp exited $WAIT_RC"
done
for i in "${!PBX_PIDS[@]}"; do
	wait_bounded "${PBX_PIDS[$i]}" "${PBX_NAMES[$i]}"
	[ "$WAIT_RC" -eq 0 ] || fail "${PBX_NAMES[$i]} SIPp exited $WAIT_RC"
done
# the media ends the scenarios started (srtp_peer, bounded by their own
# 10 s timeout): each must have received its packets intact
for role in "${PEERS[@]}"; do
	f="$WORK/peer_$role.out"
	for _ in $(seq 1 150); do
		grep -q '^rc=' "$f" 2>/dev/null && break
		sleep 0.1
	done
	if grep -q '^rc=0$' "$f" 2>/dev/null; then
		echo "measured: $(grep '^srtp_peer' "$f")"
	else
		fail "media end $role: $(tr '\n' ' ' <"$f" 2>/dev/null || echo 'did not run')"
	fi
done
if [ "$DIRECT" -eq 0 ] && [ "${#METRICS[@]}" -gt 0 ]; then
	check_metrics
fi
[ "$DIRECT" -eq 1 ] || stop_tandemd
PIDS=()

if [ "$DIRECT" -eq 0 ]; then
	for n in "${CARRIERS[@]}"; do
		ids=$(call_ids "$WORK/$n.msg" | wc -l)
		[ "$ids" -le 1 ] || fail "$n received $ids calls (Call-IDs): $(call_ids "$WORK/$n.msg" | tr '\n' ' ')"
		leak "$WORK/$n.msg" '127\.0\.0\.(3|4|13)([^0-9]|$)|pbxtag|rrmark=pbx|X-Pbx-Secret' \
			"PBX topology"
	done
	for n in "${PBX_NAMES[@]}"; do
		ids=$(call_ids "$WORK/$n.msg" | wc -l)
		[ "$ids" -le 1 ] || fail "$n received $ids calls (Call-IDs): $(call_ids "$WORK/$n.msg" | tr '\n' ' ')"
		leak "$WORK/$n.msg" '127\.0\.0\.(2|5|12)([^0-9]|$)|crtag|carrier-[0-9]|rrmark=carrier|X-Carrier-Secret' \
			"carrier topology"
	done
	if [ "$CASE" = noanswer_failover ]; then
		# limits.no_answer_s=2: the CANCEL 2 s after the INVITE
		gap=$(($(rx_ms "$WORK/pbx1.msg" CANCEL) - $(rx_ms "$WORK/pbx1.msg" INVITE)))
		echo "measured: no-answer CANCEL after $gap ms (want 2000 +-500)"
		if [ "$gap" -lt 1500 ] || [ "$gap" -gt 2500 ]; then
			fail "CANCEL $gap ms after the INVITE, want 2000 +-500"
		fi
	fi
	if [ "$CASE" = trunk_down ] &&
		grep -q "attempt.*@$P1_IP:$P1_PORT" "$WORK/tandemd.log"; then
		fail "the call was tried on the trunk that is down"
	fi
	tags=$(carrier_tags | wc -l)
	[ "$tags" -le 1 ] || fail "carrier saw $tags To tags: $(carrier_tags | tr '\n' ' ')"
fi

if [ "$FAILED" -ne 0 ]; then
	exit 1
fi
echo "PASS: $CASE$([ "$DIRECT" -eq 0 ] || echo " (dry run, no tandemd)")"
