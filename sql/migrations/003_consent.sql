-- Consent and suppression, shared by every sender (Klaviyo, Customer.io, SendGrid, cart recovery).
-- Emails are stored normalised: lower(trim(email)).

-- What a person agreed to, where and when. The latest row per (email, channel) is the state.
CREATE TABLE ops.consent (
    email       text        NOT NULL,
    channel     text        NOT NULL DEFAULT 'email',    -- email | sms
    consented   boolean     NOT NULL,
    source      text        NOT NULL,                    -- 'website.checkout', 'klaviyo', 'tiktok_shop', ...
    recorded_at timestamptz NOT NULL,
    evidence    jsonb,
    PRIMARY KEY (email, channel, source, recorded_at)
);
CREATE INDEX consent_latest_idx ON ops.consent (email, channel, recorded_at DESC);

-- Anyone who must not be emailed: unsubscribed, bounced, marked spam, suppressed anywhere.
CREATE TABLE ops.suppressions (
    email         text        NOT NULL,
    source        text        NOT NULL,                  -- 'klaviyo', 'customerio', 'sendgrid', 'recovery_link'
    reason        text        NOT NULL,                  -- unsubscribed | bounced | spam | suppressed | gdpr
    suppressed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (email, source)
);
CREATE INDEX suppressions_email_idx ON ops.suppressions (email);
