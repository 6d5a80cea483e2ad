-- The pool of single-use discount codes the brand imports from its store
-- (`marketing-pipeline import-discount-codes FILE`). The offer step takes one code per email:
-- a code is free (claimed_at IS NULL) or bound to exactly one outbox row, never to two.
CREATE TABLE ops.discount_codes (
    code        text        PRIMARY KEY,
    expires_at  timestamptz,                       -- null: does not expire
    source      text        NOT NULL,              -- the file it came from, or 'sandbox'
    imported_at timestamptz NOT NULL DEFAULT now(),
    claimed_at  timestamptz,
    outbox_id   bigint      UNIQUE REFERENCES ops.recovery_outbox (id),
    cart_id     text,
    CHECK ((claimed_at IS NULL) = (outbox_id IS NULL))
);
-- The claim reads free codes in expiry order (soonest first, so few expire unused).
CREATE INDEX discount_codes_free_idx ON ops.discount_codes (expires_at NULLS LAST, code) WHERE claimed_at IS NULL;
