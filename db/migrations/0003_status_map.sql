-- Failure code translation per trunk (the B2BUA issue: "failures relayed
-- with Reason and optional code translation by policy"): a final status
-- from a call attempt toward this trunk is answered to the caller as the
-- mapped status when it is the call's last word; the Reason header keeps
-- the original (RFC 3326). Entries 'FROM=TO', e.g. '{486=600,503=480}'.
ALTER TABLE trunks ADD COLUMN IF NOT EXISTS status_map text[] NOT NULL
	DEFAULT '{}'
	CHECK (array_to_string(status_map, ',') ~
	       '^([3-6][0-9][0-9]=[3-6][0-9][0-9](,[3-6][0-9][0-9]=[3-6][0-9][0-9])*)?$');
