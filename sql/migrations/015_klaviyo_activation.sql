-- What the Klaviyo activation syncs sent, so a re-run sends only changes and never repeats itself.

-- One row per warehouse email known to Klaviyo: its profile id and a hash of the attributes last
-- accepted (a profile is re-sent only when its attributes change).
CREATE TABLE ops.klaviyo_profiles (
    email           text        PRIMARY KEY,
    profile_id      text        NOT NULL,
    attributes_hash text        NOT NULL,
    import_job_id   text,
    synced_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX klaviyo_profiles_id_idx ON ops.klaviyo_profiles (profile_id);

-- Every bulk import job created, with Klaviyo's final counts.
CREATE TABLE ops.klaviyo_import_jobs (
    job_id          text        PRIMARY KEY,
    status          text        NOT NULL,
    total_count     integer     NOT NULL,
    completed_count integer,
    failed_count    integer,
    run_id          text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);

-- Profiles Klaviyo refused, with its reasons. The same attributes are not sent again (no retry
-- loop); a changed profile (new hash) is tried once more.
CREATE TABLE ops.klaviyo_import_rejects (
    job_id           text        NOT NULL,
    error_id         text        NOT NULL,
    email            text,
    attributes_hash  text,
    code             text        NOT NULL,
    title            text,
    detail           text        NOT NULL,
    pointer          text,
    original_payload jsonb,
    run_id           text,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, error_id)
);
CREATE INDEX klaviyo_import_rejects_email_idx ON ops.klaviyo_import_rejects (email, attributes_hash);

-- Events Klaviyo accepted (202). The unique_id is also sent, so Klaviyo drops a repeat even if
-- this row was lost between the send and the commit.
CREATE TABLE ops.klaviyo_sent_events (
    metric    text        NOT NULL,
    unique_id text        NOT NULL,
    email     text        NOT NULL,
    value     numeric,
    event_at  timestamptz NOT NULL,
    run_id    text,
    status    text        NOT NULL DEFAULT 'accepted',  -- accepted | rejected (Klaviyo's reason in error)
    error     text,
    sent_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (metric, unique_id)
);

-- The default lists the pipeline keeps in step with SQL membership.
CREATE TABLE ops.klaviyo_lists (
    name       text        PRIMARY KEY,
    list_id    text        NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Emails subscribed to email marketing through the bulk subscription API, with the consent used.
CREATE TABLE ops.klaviyo_subscriptions (
    email         text        PRIMARY KEY,
    consented_at  timestamptz NOT NULL,
    consent_source text       NOT NULL,
    subscribed_at timestamptz NOT NULL DEFAULT now(),
    run_id        text
);
