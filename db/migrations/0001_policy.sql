-- Policy schema (issue 7): trunks, routes with time windows and weighted
-- targets, number rewrite rules, block/allow lists, caller-ID rules, and a
-- policy version counter. Applied by db_migrate() inside one transaction.

CREATE TABLE policy_version (
	singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
	version    bigint NOT NULL,
	changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO policy_version (version) VALUES (1);

CREATE TABLE trunks (
	id               bigserial PRIMARY KEY,
	name             text NOT NULL UNIQUE CHECK (name <> ''),
	role             text NOT NULL CHECK (role IN ('carrier', 'pbx')),
	trunk_group      text,
	host             text NOT NULL CHECK (host <> ''), -- address or DNS name
	port             integer NOT NULL DEFAULT 5060
	                 CHECK (port BETWEEN 1 AND 65535),
	transport        text NOT NULL DEFAULT 'udp'
	                 CHECK (transport IN ('udp', 'tcp', 'tls')),
	-- inbound identification: source CIDRs (optionally one source port),
	-- and/or digest credentials the trunk authenticates with
	inbound_cidrs    cidr[] NOT NULL DEFAULT '{}',
	inbound_port     integer CHECK (inbound_port BETWEEN 1 AND 65535),
	inbound_user     text,
	inbound_password text,
	-- outbound: credentials we answer challenges with, registration
	outbound_user     text,
	outbound_password text,
	register          boolean NOT NULL DEFAULT false,
	register_expires  integer NOT NULL DEFAULT 3600
	                  CHECK (register_expires > 0),
	codecs           text[] NOT NULL DEFAULT '{}', -- allow list; empty: any
	srtp             text NOT NULL DEFAULT 'off'
	                 CHECK (srtp IN ('off', 'optional', 'mandatory')),
	media_address    text,
	header_policy    text NOT NULL DEFAULT 'strip'
	                 CHECK (header_policy IN ('strip', 'pass')),
	pai_trust        boolean NOT NULL DEFAULT false, -- RFC 3325 trust domain
	options_interval integer NOT NULL DEFAULT 0
	                 CHECK (options_interval >= 0), -- seconds; 0: off
	max_calls        integer NOT NULL DEFAULT 0 CHECK (max_calls >= 0),
	max_cps          integer NOT NULL DEFAULT 0 CHECK (max_cps >= 0),
	enabled          boolean NOT NULL DEFAULT true
);

CREATE TABLE routes (
	id             bigserial PRIMARY KEY,
	name           text,
	src_trunk_id   bigint REFERENCES trunks (id) ON DELETE CASCADE,
	src_group      text,
	called_prefix  text NOT NULL DEFAULT ''
	               CHECK (called_prefix ~ '^[0-9+*#]*$'),
	calling_prefix text NOT NULL DEFAULT ''
	               CHECK (calling_prefix ~ '^[0-9+*#]*$'),
	priority       integer NOT NULL DEFAULT 100,
	failover_codes integer[] NOT NULL DEFAULT '{408,480,500,502,503,504}',
	enabled        boolean NOT NULL DEFAULT true,
	CHECK (src_trunk_id IS NULL OR src_group IS NULL)
);
CREATE INDEX routes_called_prefix ON routes (called_prefix);

-- A route with windows is open while any of them is; none: always open.
-- weekdays: bit 0 Monday .. bit 6 Sunday, the day the window starts on;
-- end_time <= start_time crosses midnight.
CREATE TABLE route_windows (
	id         bigserial PRIMARY KEY,
	route_id   bigint NOT NULL REFERENCES routes (id) ON DELETE CASCADE,
	weekdays   integer NOT NULL DEFAULT 127 CHECK (weekdays BETWEEN 1 AND 127),
	start_time time NOT NULL DEFAULT '00:00',
	end_time   time NOT NULL DEFAULT '00:00',
	time_zone  text NOT NULL DEFAULT 'UTC'
);
CREATE INDEX route_windows_route ON route_windows (route_id);

-- Targets are tried by ascending priority; within one priority, in a
-- weighted random order (weight 0: only after the weighted ones).
CREATE TABLE route_targets (
	id       bigserial PRIMARY KEY,
	route_id bigint NOT NULL REFERENCES routes (id) ON DELETE CASCADE,
	trunk_id bigint NOT NULL REFERENCES trunks (id) ON DELETE RESTRICT,
	priority integer NOT NULL DEFAULT 0,
	weight   integer NOT NULL DEFAULT 1 CHECK (weight >= 0)
);
CREATE INDEX route_targets_route ON route_targets (route_id);

-- PCRE2 pattern and replacement ($1, ${1}); per trunk (NULL: every trunk)
-- and direction. Per (trunk, direction, field) the first matching rule by
-- ascending priority applies.
CREATE TABLE rewrite_rules (
	id          bigserial PRIMARY KEY,
	trunk_id    bigint REFERENCES trunks (id) ON DELETE CASCADE,
	direction   text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
	field       text NOT NULL CHECK (field IN ('called', 'calling')),
	priority    integer NOT NULL DEFAULT 100,
	pattern     text NOT NULL,
	replacement text NOT NULL,
	enabled     boolean NOT NULL DEFAULT true
);

-- Longest matching prefix decides; a field with allow entries rejects
-- (403) numbers that match none.
CREATE TABLE number_lists (
	id      bigserial PRIMARY KEY,
	kind    text NOT NULL CHECK (kind IN ('block', 'allow')),
	field   text NOT NULL CHECK (field IN ('called', 'calling')),
	prefix  text NOT NULL CHECK (prefix ~ '^[0-9+*#]*$'),
	status  integer NOT NULL DEFAULT 403 CHECK (status IN (403, 603)),
	reason  text,
	enabled boolean NOT NULL DEFAULT true
);

-- P-Asserted-Identity (RFC 3325) and Privacy (RFC 3323) per trunk and
-- direction; the first rule by ascending priority applies.
CREATE TABLE caller_id_rules (
	id        bigserial PRIMARY KEY,
	trunk_id  bigint REFERENCES trunks (id) ON DELETE CASCADE,
	direction text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
	pai       text NOT NULL DEFAULT 'keep'
	          CHECK (pai IN ('keep', 'insert', 'strip')),
	pai_value text, -- for insert; NULL: the (rewritten) calling number
	privacy   text NOT NULL DEFAULT 'keep'
	          CHECK (privacy IN ('keep', 'none', 'id')),
	priority  integer NOT NULL DEFAULT 100,
	enabled   boolean NOT NULL DEFAULT true
);

-- Any change to a policy table bumps the version and notifies listeners
-- (one NOTIFY per statement; identical payloads within one transaction
-- are folded by PostgreSQL).
CREATE FUNCTION tandem_policy_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	v bigint;
BEGIN
	UPDATE policy_version SET version = version + 1, changed_at = now()
		RETURNING version INTO v;
	PERFORM pg_notify('tandem_policy', v::text);
	RETURN NULL;
END;
$$;

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['trunks', 'routes', 'route_windows',
		'route_targets', 'rewrite_rules', 'number_lists',
		'caller_id_rules'] LOOP
		EXECUTE format('CREATE TRIGGER %I_notify AFTER INSERT OR UPDATE '
			'OR DELETE OR TRUNCATE ON %I FOR EACH STATEMENT '
			'EXECUTE FUNCTION tandem_policy_changed()', t, t);
	END LOOP;
END;
$$;
