"""Durable store-and-forward between the terminal and the central platform (MQTT 5)."""
from edge_sync.clock import ClockState
from edge_sync.config import SyncConfig, SyncConfigError
from edge_sync.engine import SyncEngine
from edge_sync.querycode import is_query_code, mint_query_code
from edge_sync.results import Attachment, InvalidCase, Offline, Reply, StorageFull, Submitted, SyncError
from edge_sync.status import read_status

__all__ = ["Attachment", "ClockState", "InvalidCase", "Offline", "Reply", "StorageFull", "Submitted",
           "SyncConfig", "SyncConfigError", "SyncEngine", "SyncError", "is_query_code", "mint_query_code",
           "read_status"]
