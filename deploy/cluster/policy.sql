-- The policy of the cluster example (apply after the migrations, once, on
-- the PostgreSQL every node shares):
--   psql -v kport=5060 -v pbxport=5080 -f deploy/cluster/policy.sql
-- It is deploy/sample_policy.sql with the carrier reaching the nodes
-- through Kamailio: the nodes see the carrier's calls coming from
-- Kamailio's address and port (kip:kport), so that is the carrier trunk's
-- inbound source, and calls out to the carrier go to Kamailio too. The
-- PBX is reached directly by every node (pip:pbxport). Variables not given
-- take the defaults below.
\set ON_ERROR_STOP on
\if :{?kip}
\else
\set kip 127.0.0.1
\endif
\if :{?kport}
\else
\set kport 5060
\endif
\if :{?pip}
\else
\set pip 127.0.0.1
\endif
\if :{?pbxport}
\else
\set pbxport 5080
\endif
\ir ../sample_policy.sql
-- Trunk limits are per trunk for the whole cluster; each node admits
-- ceil(limit / [cluster] nodes) of them (README.md).
UPDATE trunks SET host = :'kip', port = :kport,
	inbound_cidrs = ARRAY[(:'kip' || '/32')::cidr], inbound_port = :kport,
	options_interval = 0, max_calls = 100, max_cps = 20
WHERE name = 'carrier';
UPDATE trunks SET host = :'pip', port = :pbxport,
	inbound_cidrs = ARRAY[(:'pip' || '/32')::cidr], inbound_port = :pbxport
WHERE name = 'pbx';
