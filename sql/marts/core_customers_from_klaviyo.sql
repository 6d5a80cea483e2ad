-- Klaviyo profiles: email, phone, profile id; a SUBSCRIBED email consent dates the subscription.
CREATE TEMP TABLE stg_identities_klaviyo (source, record_id, day, email, phone, platform_type, platform_id, seen_at,
                                          accepts_marketing, subscribed_at)
ON COMMIT DROP AS
SELECT 'klaviyo', p.profile_id, p.partition_date, core.norm_email(p.email),
       core.e164(p.phone_number, (SELECT current_setting('marts.default_cc'))),
       'klaviyo_profile', p.profile_id,
       coalesce(p.created_at, p.updated_at),
       CASE p.email_consent WHEN 'SUBSCRIBED' THEN true WHEN 'UNSUBSCRIBED' THEN false END,
       CASE WHEN p.email_consent = 'SUBSCRIBED' THEN coalesce(p.email_consent_at, p.created_at, p.updated_at) END
FROM refresh_klaviyo_profiles p;
