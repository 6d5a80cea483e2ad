-- Two indexes a full rebuild builds again over millions of rows lead with the day alone, not with a
-- text column of two or four values (platform, source): sorting dates is several times cheaper than
-- comparing those strings by the database's collation on nearly every tie. Their readers look a
-- few days up and keep the platform or source they want from those rows.
DROP INDEX core.email_events_source_date_idx;
CREATE INDEX email_events_source_date_idx ON core.email_events (source_date);
DROP INDEX core.identity_records_day_idx;
CREATE INDEX identity_records_day_idx ON core.identity_records (day);
