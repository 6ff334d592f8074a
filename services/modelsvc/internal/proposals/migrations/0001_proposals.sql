-- proposals: one row per proposed change. The row is written before ds.model.proposed.<id> is
-- published; `published` is the outbox flag the republisher looks at.
CREATE TABLE proposals (
	id           text PRIMARY KEY,
	source       text NOT NULL,
	digest       text NOT NULL,
	git_commit   text NOT NULL DEFAULT '',
	proposed_at  timestamptz NOT NULL,
	published    boolean NOT NULL DEFAULT false,
	published_at timestamptz,
	state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted', 'rejected')),
	decided_at   timestamptz,
	base_version bigint NOT NULL DEFAULT 0,
	version      bigint NOT NULL DEFAULT 0,
	report       bytea
);

CREATE INDEX proposals_unpublished ON proposals (proposed_at) WHERE NOT published;
