"""TikTok Shop content analytics: per-video and per-account daily performance of shoppable videos."""
