-- core.content_daily is rebuilt from TikTok content analytics (core_content_daily_from_tiktok_content.sql).
TRUNCATE core.content_daily;
