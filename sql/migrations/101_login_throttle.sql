-- Dashboard sign-in attempts, shared by every web process: one row per client address
-- ('client:<address>') and one for all clients ('all'), each counting attempts in a fixed
-- window. An attempt is taken with one atomic upsert before the password is checked, so
-- concurrent guesses across processes cannot overrun the limit.
CREATE TABLE ops.login_throttle (
    bucket       text        PRIMARY KEY,
    window_start timestamptz NOT NULL,
    attempts     integer     NOT NULL CHECK (attempts >= 0)
);
