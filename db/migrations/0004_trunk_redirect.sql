-- 3xx from a trunk (the B2BUA issue, item 2: "3xx followed or relayed by
-- policy"). 'follow': Tandem places the next attempt itself when the
-- first Contact names a trunk of the policy (host and port), otherwise
-- the caller gets 480; the Contact is never shown to the caller.
-- 'relay': the 3xx goes to the caller as it came, with its Contacts,
-- and ends the call here (the caller redirects; RFC 3261 §8.1.3.4).
ALTER TABLE trunks ADD COLUMN IF NOT EXISTS redirect text NOT NULL
	DEFAULT 'follow' CHECK (redirect IN ('follow', 'relay'));
