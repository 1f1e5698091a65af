-- Failure code translation per trunk (the B2BUA issue: "failures relayed
-- with Reason and optional code translation by policy"): a final status
-- from a call attempt toward this trunk is answered to the caller as the
-- mapped status when it is the call's last word; the Reason header keeps
-- the original (RFC 3326). Entries 'FROM=TO', e.g. '{486=600,503=480}'.
ALTER TABLE trunks ADD COLUMN IF NOT EXISTS status_map text[] NOT NULL
	DEFAULT '{}'
	CHECK (array_to_string(status_map, ',') ~
	       '^([3-6][0-9][0-9]=[3-6][0-9][0-9](,[3-6][0-9][0-9]=[3-6][0-9][0-9])*)?$');

-- Header policy lists per trunk (the B2BUA issue, item 3: "pass list,
-- strip list, add/replace"), for the requests Tandem sends toward the
-- trunk. header_policy 'strip' drops the caller's extension headers except
-- those named in header_list; 'pass' passes them except those named there.
-- header_add lines ('Name: value') are added, replacing a caller's header
-- of the same name. Headers that carry the dialog or the route (Via,
-- From, To, Call-ID, CSeq, Contact, Route, Record-Route, Max-Forwards,
-- Content-*) can never be added: the policy compiler refuses the trunk.
ALTER TABLE trunks ADD COLUMN IF NOT EXISTS header_list text[] NOT NULL
	DEFAULT '{}'
	CHECK (array_to_string(header_list, ',') ~ '^[A-Za-z0-9._!%*+`''~-]*(,[A-Za-z0-9._!%*+`''~-]+)*$');
ALTER TABLE trunks ADD COLUMN IF NOT EXISTS header_add text[] NOT NULL
	DEFAULT '{}'
	CHECK (array_to_string(header_add, E'\n') !~ E'\r');

-- Media latching per trunk (the media issue, item 2): a trunk behind NAT
-- has its media learnt from any source address in the window after each
-- offer/answer (RFC 7362), not only from the address its SDP names.
ALTER TABLE trunks ADD COLUMN IF NOT EXISTS behind_nat boolean NOT NULL
	DEFAULT false;
