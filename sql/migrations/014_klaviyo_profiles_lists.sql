-- Profiles (incremental by ``updated``: partition_date is the brand-local day of the last update),
-- lists and segments (current state) and their profile counts per day.
CREATE TABLE raw.klaviyo_profiles (
    profile_id                  text        PRIMARY KEY,
    email                       text,
    phone_number                text,
    external_id                 text,
    first_name                  text,
    last_name                   text,
    created_at                  timestamptz,
    updated_at                  timestamptz NOT NULL,
    email_consent               text,          -- SUBSCRIBED | UNSUBSCRIBED | NEVER_SUBSCRIBED
    email_consent_at            timestamptz,
    can_receive_email_marketing boolean,
    suppression_reasons         text[]      NOT NULL DEFAULT '{}',
    payload                     jsonb       NOT NULL,
    partition_date              date        NOT NULL,
    _loaded_at                  timestamptz NOT NULL DEFAULT now(),
    _run_id                     text
);
CREATE INDEX klaviyo_profiles_partition_idx ON raw.klaviyo_profiles (partition_date);
CREATE INDEX klaviyo_profiles_email_idx ON raw.klaviyo_profiles (lower(email));

CREATE TABLE raw.klaviyo_lists (
    list_id         text        PRIMARY KEY,
    name            text,
    opt_in_process  text,
    created_at      timestamptz,
    updated_at      timestamptz,
    payload         jsonb       NOT NULL,
    _loaded_at      timestamptz NOT NULL DEFAULT now(),
    _run_id         text
);
CREATE TABLE raw.klaviyo_segments (
    segment_id      text        PRIMARY KEY,
    name            text,
    is_active       boolean,
    created_at      timestamptz,
    updated_at      timestamptz,
    payload         jsonb       NOT NULL,
    _loaded_at      timestamptz NOT NULL DEFAULT now(),
    _run_id         text
);
CREATE TABLE raw.klaviyo_group_counts (
    partition_date  date        NOT NULL,
    kind            text        NOT NULL,     -- list | segment
    group_id        text        NOT NULL,
    name            text,
    profile_count   integer,
    _loaded_at      timestamptz NOT NULL DEFAULT now(),
    _run_id         text,
    PRIMARY KEY (partition_date, kind, group_id)
);
