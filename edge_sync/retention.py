"""Retention of personal data in the sync store (DESIGN §5): what the engine's housekeeping deletes and when."""
from __future__ import annotations

import time

from edge_sync.store import Store


def purge_expired(store: Store, retention_days: float, commands_before: float | None = None) -> int:
    """Deletes what retention allows: acked and rejected cases with their blobs, cached case views and
    received notifications past ``retention_days`` (every table holding personal data), and seen
    commands that expired before ``commands_before`` (a trusted time: their replay is refused as
    expired anyway). Returns the number of cases purged."""
    now = time.time()
    horizon = now - retention_days * 86400
    with store.tx() as c:
        n = c.execute("DELETE FROM cases WHERE purge_after IS NOT NULL AND purge_after < ?", (now,)).rowcount
        # Blobs go with their case (acked or rejected ones past retention).
        c.execute("DELETE FROM blob_data WHERE blob_id IN (SELECT blob_id FROM blobs WHERE case_id NOT IN "
                  "(SELECT case_id FROM cases))")
        c.execute("DELETE FROM blobs WHERE case_id NOT IN (SELECT case_id FROM cases)")
        c.execute("DELETE FROM case_views WHERE fetched_at < ?", (horizon,))
        c.execute("DELETE FROM inbox WHERE received_at < ?", (horizon,))
        if commands_before is not None:
            c.execute("DELETE FROM seen_commands WHERE expires IS NOT NULL AND expires < ?", (commands_before,))
        c.execute("DELETE FROM seen_commands WHERE expires IS NULL AND seen_at < ?", (now - 30 * 86400,))
    return n


def purge_case_views(store: Store) -> int:
    """Central's ``purge_cache`` command: every cached case view goes (they hold masked personal data and
    are fetched again on the next query). Returns the number of views deleted."""
    with store.tx() as c:
        return c.execute("DELETE FROM case_views").rowcount
