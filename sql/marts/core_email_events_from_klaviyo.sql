-- Klaviyo email metrics. Klaviyo counts a send as received, bounced or dropped, so those events
-- also make a 'sent'. The campaign comes from the message ($message), the flow from $flow.
-- Email events belong to the customer their (normalized) email address resolves to.
INSERT INTO core.email_events (platform, event_id, event_type, occurred_at, event_date, customer_id, email,
                               campaign_id, campaign_name, flow_id, flow_name, source_date)
SELECT 'klaviyo', e.event_id || ':' || m.event_type, m.event_type, e.occurred_at, e.partition_date,
       k.customer_id, p.email,
       CASE WHEN e.flow_id IS NULL THEN cm.campaign_id END, CASE WHEN e.flow_id IS NULL THEN c.name END,
       e.flow_id, f.name, e.partition_date
FROM refresh_klaviyo_events e
JOIN (VALUES ('Received Email', 'sent'), ('Received Email', 'delivered'), ('Bounced Email', 'sent'),
             ('Bounced Email', 'bounce'), ('Dropped Email', 'sent'), ('Opened Email', 'open'),
             ('Clicked Email', 'click'), ('Unsubscribed', 'unsubscribe'),
             ('Unsubscribed from Email Marketing', 'unsubscribe'), ('Marked Email as Spam', 'spam'))
     AS m(metric_name, event_type) ON m.metric_name = e.metric_name
LEFT JOIN (SELECT profile_id, core.norm_email(email) AS email FROM raw.klaviyo_profiles) p
       ON p.profile_id = e.profile_id
LEFT JOIN core.customer_keys k ON k.key_type = 'email' AND k.key_value = p.email
LEFT JOIN raw.klaviyo_campaign_messages cm ON cm.message_id = e.message_id
LEFT JOIN raw.klaviyo_campaigns c ON c.campaign_id = cm.campaign_id
LEFT JOIN raw.klaviyo_flows f ON f.flow_id = e.flow_id
