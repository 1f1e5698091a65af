-- ICE attributes toward a trunk (the media issue, item 1: "ICE attributes
-- removed unless policy keeps them"). Tandem anchors the media, so by
-- default the a=ice-*/a=candidate lines of the far side are removed from
-- the SDP it sends the trunk; keep_ice passes them unchanged, for peers
-- that refuse descriptions without them (their checks then run against
-- the far side's candidates, not Tandem's relay).
ALTER TABLE trunks ADD COLUMN IF NOT EXISTS keep_ice boolean NOT NULL
	DEFAULT false;
