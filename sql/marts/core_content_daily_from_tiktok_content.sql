-- TikTok shoppable videos per day: engagements = likes + comments + shares (+ saves when
-- reported); shop clicks = product link clicks.
INSERT INTO core.content_daily (content_date, video_id, views, engagements, shop_clicks)
SELECT content_date, video_id, coalesce(views, 0),
       coalesce(likes, 0) + coalesce(comments, 0) + coalesce(shares, 0) + coalesce(saves, 0),
       coalesce(product_clicks, 0)
FROM refresh_tiktok_content_daily;
