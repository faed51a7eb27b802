-- Fenced leases. Every claim stamps its row with a new token from one sequence; decide, write-back,
-- lease renewal and release present it and find the lease unexpired, or change nothing. A replica
-- that lost its lease (frozen, partitioned from the database, slower than its lease) therefore
-- never writes over the state of the replica that took the row over: its late write-back matches
-- no row. Only its attempts are still recorded: a call that happened is evidence.
CREATE SEQUENCE compensatord.lease_tokens AS bigint;

ALTER TABLE compensatord.transactions ADD COLUMN lease_token bigint;
