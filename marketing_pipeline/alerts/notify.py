"""Send an alert once: claim its key in ``ops.alerts``, then post.

The claim commits before the post, so a repeat (the next sensor tick, a second daemon) posts
nothing. A post that fails releases the claim and raises, so the next tick tries again; only a
post that reached Slack but whose answer was lost can be repeated.
"""

from __future__ import annotations

import psycopg

from marketing_pipeline import settings
from marketing_pipeline.alerts.slack import SlackAlertsResource


def ui_link(path: str) -> str:
    """A page of the Dagster UI (``DAGSTER_UI_URL``), e.g. ``runs/<id>`` or ``assets/<key>``."""
    return f"{settings.load().dagster_ui_url}/{path.lstrip('/')}"


def notify(
    conn: psycopg.Connection, slack: SlackAlertsResource, key: str, kind: str, text: str, link: str
) -> bool:
    """Post ``text`` with ``link`` unless ``key`` was alerted before; True when posted now.

    ``conn`` is an autocommit connection: the claim is committed before the post.
    """
    claimed = conn.execute(
        "INSERT INTO ops.alerts (alert_key, kind, message, link) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (alert_key) DO NOTHING RETURNING alert_key",
        (key, kind, text, link),
    ).fetchone()
    if claimed is None:
        return False
    try:
        via = slack.post(f"{text}\n<{link}|Open in Dagster>")
    except Exception:
        conn.execute("DELETE FROM ops.alerts WHERE alert_key = %s", (key,))
        raise
    conn.execute(
        "UPDATE ops.alerts SET delivered_at = now(), delivered_via = %s WHERE alert_key = %s", (via, key)
    )
    return True
