-- CDRs (issue 8): one row per call attempt, written by the CDR writer
-- (db/cdr.h) with INSERT .. ON CONFLICT DO NOTHING, so a replayed spool
-- never duplicates a row. Range-partitioned by month on attempt_at: a
-- month is a table of its own (cdr_YYYYMM), old months are dropped with
-- DETACH PARTITION + DROP TABLE, and queries bounded in time touch only
-- their months. The primary key must contain the partition key: it is
-- (attempt_at, id), which also serves every query by time, so no other
-- time index is needed (each index costs about a tenth of the insert
-- rate). id is a UUIDv7 whose time part is attempt_at anyway.

CREATE TABLE cdr (
	id             uuid NOT NULL,
	attempt_at     timestamptz NOT NULL, -- INVITE received (UTC, ms)
	node           text NOT NULL,        -- the tandemd that handled it
	a_callid       text NOT NULL,
	b_callid       text NOT NULL DEFAULT '',
	session_id     text NOT NULL DEFAULT '', -- RFC 7989
	src_trunk      text NOT NULL DEFAULT '',
	dst_trunk      text NOT NULL DEFAULT '',
	calling_in     text NOT NULL DEFAULT '', -- numbers as received
	called_in      text NOT NULL DEFAULT '',
	calling_out    text NOT NULL DEFAULT '', -- after rewriting
	called_out     text NOT NULL DEFAULT '',
	provisional_at timestamptz,          -- first 1xx; NULL: none
	answer_at      timestamptz,          -- NULL: not answered
	end_at         timestamptz NOT NULL,
	duration_ms    bigint NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
	billable_s     integer NOT NULL DEFAULT 0 CHECK (billable_s >= 0),
	disposition    text NOT NULL CHECK (disposition IN ('answered',
	               'busy', 'no_answer', 'cancelled', 'failed',
	               'rejected_policy', 'rejected_limits')),
	hangup         text NOT NULL CHECK (hangup IN ('none', 'caller',
	               'callee', 'tandem')),
	a_status       smallint NOT NULL,    -- final status on the A-leg
	a_reason       text NOT NULL DEFAULT '', -- Reason header text
	b_status       smallint,             -- NULL: no B-leg answered at all
	b_reason       text NOT NULL DEFAULT '',
	-- every target tried, in order:
	-- [{"target": "ip:port/proto", "status": 503, "start_ms": ...}]
	routes         jsonb NOT NULL DEFAULT '[]',
	a_codecs       text NOT NULL DEFAULT '',
	b_codecs       text NOT NULL DEFAULT '',
	a_srtp         boolean NOT NULL DEFAULT false,
	b_srtp         boolean NOT NULL DEFAULT false,
	-- media per direction: ab = caller -> callee, ba = callee -> caller
	ab_packets     bigint NOT NULL DEFAULT 0,
	ab_lost        bigint NOT NULL DEFAULT 0,
	ab_jitter_us   integer NOT NULL DEFAULT 0,
	ab_mos         smallint,             -- MOS x 100; NULL: not estimated
	ba_packets     bigint NOT NULL DEFAULT 0,
	ba_lost        bigint NOT NULL DEFAULT 0,
	ba_jitter_us   integer NOT NULL DEFAULT 0,
	ba_mos         smallint,
	inserted_at    timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (attempt_at, id)
) PARTITION BY RANGE (attempt_at);

-- Rows of a month whose partition could not be made land here (never
-- refused); cdr_partition_ensure is called ahead so it normally stays
-- empty.
CREATE TABLE cdr_default PARTITION OF cdr DEFAULT;

-- The usual queries: a time range (the primary key), a trunk's calls, a
-- number's calls (as received: what a customer or carrier quotes).
CREATE INDEX cdr_src_trunk ON cdr (src_trunk, attempt_at);
CREATE INDEX cdr_dst_trunk ON cdr (dst_trunk, attempt_at);
CREATE INDEX cdr_calling ON cdr (calling_in, attempt_at);
CREATE INDEX cdr_called ON cdr (called_in, attempt_at);

-- Create the partition of the month holding t (UTC) if missing. Safe to
-- call from several nodes at once (advisory lock, re-check). Returns
-- false, with a warning, if it could not (the rows then go to
-- cdr_default). The writer calls it for this and next month on connect
-- and for each new month it meets in a batch.
CREATE FUNCTION cdr_partition_ensure(t timestamptz) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
	lo timestamp := date_trunc('month', t AT TIME ZONE 'UTC');
	part text := 'cdr_' || to_char(lo, 'YYYYMM');
BEGIN
	IF to_regclass(part) IS NOT NULL THEN
		RETURN true;
	END IF;
	PERFORM pg_advisory_xact_lock(7451337300000002);
	IF to_regclass(part) IS NOT NULL THEN
		RETURN true;
	END IF;
	EXECUTE format('CREATE TABLE %I PARTITION OF cdr FOR VALUES '
		'FROM (%L) TO (%L)', part, lo AT TIME ZONE 'UTC',
		(lo + interval '1 month') AT TIME ZONE 'UTC');
	RETURN true;
EXCEPTION WHEN others THEN
	RAISE WARNING 'cdr partition %: %', part, SQLERRM;
	RETURN false;
END $$;

SELECT cdr_partition_ensure(now());
SELECT cdr_partition_ensure(now() + interval '1 month');
