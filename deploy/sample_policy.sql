-- Sample policy for the demo and the integration tests (apply after the
-- migrations: psql -f deploy/sample_policy.sql). A carrier trunk on
-- 127.0.0.1:5070 and a PBX trunk on 127.0.0.1:5080; calls from the carrier
-- go to the PBX, calls from the PBX go out to the carrier.
BEGIN;
DELETE FROM route_targets;
DELETE FROM route_windows;
DELETE FROM routes;
DELETE FROM rewrite_rules;
DELETE FROM number_lists;
DELETE FROM caller_id_rules;
DELETE FROM trunks;

INSERT INTO trunks (name, role, host, port, transport, inbound_cidrs,
	inbound_port, codecs, srtp, pai_trust, options_interval, max_calls,
	max_cps)
VALUES
	('carrier', 'carrier', '127.0.0.1', 5070, 'udp', '{127.0.0.1/32}',
		5070, '{PCMA,PCMU}', 'off', true, 30, 100, 10),
	('pbx', 'pbx', '127.0.0.1', 5080, 'udp', '{127.0.0.1/32}',
		5080, '{PCMA,PCMU,G722}', 'off', true, 0, 200, 20);

-- Numbers arrive from the carrier in national format: normalise to E.164.
INSERT INTO rewrite_rules (trunk_id, direction, field, priority, pattern,
	replacement)
SELECT id, 'inbound', f, p, pat, rep FROM trunks,
	(VALUES ('called', 10, '^00([1-9][0-9]+)$', '+$1'),
		('called', 20, '^0([1-9][0-9]+)$', '+49$1'),
		('calling', 10, '^00([1-9][0-9]+)$', '+$1'),
		('calling', 20, '^0([1-9][0-9]+)$', '+49$1')) AS r(f, p, pat, rep)
WHERE name = 'carrier';
-- The carrier wants national format for German numbers on the way out.
INSERT INTO rewrite_rules (trunk_id, direction, field, priority, pattern,
	replacement)
SELECT id, 'outbound', 'called', 10, '^\+49([0-9]+)$', '0$1' FROM trunks
WHERE name = 'carrier';

-- Inbound: the PBX's DID block +4930123, from the carrier only.
INSERT INTO routes (name, src_trunk_id, called_prefix, priority)
SELECT 'did-to-pbx', id, '+4930123', 10 FROM trunks WHERE name = 'carrier';
-- Outbound: anything the PBX dials in E.164 goes to the carrier; premium
-- numbers only in office hours (Berlin time).
INSERT INTO routes (name, src_trunk_id, called_prefix, priority)
SELECT 'pbx-out', id, '+', 100 FROM trunks WHERE name = 'pbx';
INSERT INTO routes (name, src_trunk_id, called_prefix, priority,
	failover_codes)
SELECT 'pbx-premium', id, '+49900', 10, '{503}' FROM trunks
WHERE name = 'pbx';
INSERT INTO route_windows (route_id, weekdays, start_time, end_time,
	time_zone)
SELECT id, 31, '08:00', '18:00', 'Europe/Berlin' FROM routes
WHERE name = 'pbx-premium';

INSERT INTO route_targets (route_id, trunk_id, priority, weight)
SELECT r.id, t.id, 0, 1 FROM routes r, trunks t
WHERE (r.name = 'did-to-pbx' AND t.name = 'pbx')
   OR (r.name IN ('pbx-out', 'pbx-premium') AND t.name = 'carrier');

INSERT INTO number_lists (kind, field, prefix, status, reason)
VALUES ('block', 'calling', '+4915199999', 603, 'known fraud source'),
       ('block', 'called', '+49137', 403, 'mass-calling numbers');

-- Assert the caller's identity towards the carrier (RFC 3325).
INSERT INTO caller_id_rules (trunk_id, direction, pai, privacy)
SELECT id, 'outbound', 'insert', 'keep' FROM trunks WHERE name = 'carrier';
COMMIT;
