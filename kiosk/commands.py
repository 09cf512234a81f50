"""Central's commands (contract §8) as the application carries them out. edge_sync has already checked
signature, expiry and replay; every outcome goes back as ``cmd.result`` with the (ok, detail) returned here."""
from __future__ import annotations

import logging
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from kiosk.config import SETTABLE, ConfigError, KioskConfig, save_override, with_setting
from kiosk.session import EndReason

if TYPE_CHECKING:
    from kiosk.diagnostics import LogUploader
    from kiosk.logbuffer import RecentLog
    from kiosk.ports import SyncControl
    from kiosk.services.bundle import Services
    from kiosk.services.devices import Devices
    from kiosk.session import SessionManager
    from kiosk.update.agent import UpdateAgent

log = logging.getLogger(__name__)
# EX_TEMPFAIL: "exited on purpose to be restarted". systemd's Restart=always starts the service again; the
# distinct code tells a reboot command apart from a crash (1) or a configuration/catalog error (2/3).
REBOOT_EXIT_CODE = 75
REBOOT_MESSAGE = "终端正在重启，请稍等一分钟。"
LOG_LINES_DEFAULT, LOG_LINES_MAX = 100, 300
DETAIL_MAX = 300  # characters of an error detail: config errors may quote the refused value
Outcome = tuple[bool, Any]


class CommandName(StrEnum):
    LOCK = "lock"
    UNLOCK = "unlock"
    REBOOT = "reboot"
    RELOAD_CONFIG = "reload_config"
    PRINT_TEST = "print_test"
    SET_CONFIG = "set_config"
    UPLOAD_LOGS = "upload_logs"
    PURGE_CACHE = "purge_cache"
    UPDATE_INSTALL = "update_install"    # contract addendum, "Updates"
    UPDATE_ROLLBACK = "update_rollback"


class CommandHost(Protocol):
    """What the commands use of the application (``kiosk.app.Kiosk``): its configuration, the lock,
    the printer, the log, the update agent and its exit; nothing of the web app, the bus or the ports."""

    @property
    def config(self) -> KioskConfig: ...
    @property
    def services(self) -> Services: ...
    @property
    def devices(self) -> Devices: ...
    @property
    def sessions(self) -> SessionManager: ...
    @property
    def recent_log(self) -> RecentLog: ...
    @property
    def log_uploader(self) -> LogUploader | None: ...
    @property
    def update_agent(self) -> UpdateAgent | None: ...
    @property
    def exit_code(self) -> int | None: ...
    def load_config(self) -> KioskConfig: ...
    def apply_config(self, config: KioskConfig) -> None: ...
    def audit(self, actor: str, action: str, subject: str = "") -> None: ...
    def can_exit(self) -> bool: ...
    def request_exit(self, code: int) -> None: ...


def _short(text: str) -> str:
    return text if len(text) <= DETAIL_MAX else text[:DETAIL_MAX] + "…"


class CommandRunner:
    """Runs one command for the application; called on edge_sync's thread, so only thread-safe entry
    points. ``engine`` is the sync engine's own controls (None without one: keys and cache stay as they are)."""

    def __init__(self, kiosk: CommandHost, engine: SyncControl | None = None) -> None:
        self.k = kiosk
        self.engine = engine
        self.cmd_id = ""  # of the command being run: handlers whose work goes on later name it in their events

    def run(self, name: str, args: dict[str, Any], cmd_id: str = "") -> Outcome:
        """(ok, detail) for ``cmd.result``. Never raises: a failure is an ok=false outcome with a reason."""
        self.cmd_id = cmd_id
        try:
            command = CommandName(name)
        except ValueError:
            return False, f"command {_short(name)} not supported by the application"
        handler = getattr(self, f"_{command.value}")
        try:
            return handler(args)
        except Exception as exc:  # reported to central, never raised into the sync engine's thread
            log.exception("command %s failed", command.value)
            return False, f"failed: {type(exc).__name__}"

    # -- lock, unlock, print_test -----------------------------------------------------------------
    def _lock(self, args: dict[str, Any]) -> Outcome:
        reason = args.get("reason")
        self.k.services.maintenance.set_locked(reason[:40] if isinstance(reason, str) and reason else "平台锁定")
        return True, "locked"

    def _unlock(self, args: dict[str, Any]) -> Outcome:
        self.k.services.maintenance.set_locked(None)
        return True, "unlocked"

    def _print_test(self, args: dict[str, Any]) -> Outcome:
        devices = self.k.devices
        if devices.receipts is None or devices.printer is None:
            return False, "no printer"
        try:
            devices.print(devices.receipts.test_page())
        except Exception as exc:
            code = getattr(exc, "code", type(exc).__name__)
            self.k.audit("central", "print", f"test page failed: {code}")
            return False, code
        self.k.audit("central", "print", "test page")
        return True, "printed"

    # -- configuration --------------------------------------------------------------------------
    def _reload_config(self, args: dict[str, Any]) -> Outcome:
        """Re-read the configuration as a restart would; apply the accepted signing keys (through the
        sync engine) and the settable keys at once. Nothing changes when the file or a key is bad."""
        try:
            config = self.k.load_config()
        except ConfigError as exc:
            return False, _short(f"config not reloaded: {exc}")
        ok, keys = self._apply_keys(config)
        if not ok:
            return False, keys
        restart = sorted(f"{sec}.{key}" for sec, body in config.values.items() for key, value in body.items()
                         if f"{sec}.{key}" not in SETTABLE and self.k.config.values[sec][key] != value)
        self.k.apply_config(config)
        detail = f"config reloaded; {keys}"
        if restart:
            detail += "; needs a restart: " + ", ".join(restart)
        return True, detail

    def _apply_keys(self, config: KioskConfig) -> Outcome:
        if self.engine is None:
            return True, "signing keys not applied: no sync engine"
        if config.sync is None:
            return False, "config not reloaded, signing keys unchanged: the file now turns sync off (needs a restart)"
        command_keys, catalog_keys = config.sync.command_keys, config.sync.catalog_keys
        try:
            self.engine.set_accepted_keys(command_keys, catalog_keys)
        except ValueError as exc:  # edge_sync's SyncConfigError: the accepted keys stay as they were
            return False, _short(f"config not reloaded, signing keys unchanged: {exc}")
        return True, f"signing keys: commands {sorted(command_keys)}, catalog {sorted(catalog_keys)}"

    def _set_config(self, args: dict[str, Any]) -> Outcome:
        """args.key (``section.key``) and args.value: checked against the schema, persisted to the
        override file in the data dir (so a restart keeps it), then applied."""
        name = args.get("key")
        if not isinstance(name, str) or not name:
            return False, "args.key is missing"
        if "value" not in args:
            return False, f"args.value is missing for {_short(name)}"
        try:
            config = with_setting(self.k.config, name, args["value"])
            section, _, key = name.partition(".")
            save_override(config, name, config.get(section, key))
        except ConfigError as exc:
            return False, _short(str(exc))
        except OSError as exc:
            return False, f"{name} not saved in the data dir ({type(exc).__name__}); not applied"
        self.k.apply_config(config)
        log.info("config %s set by central", name)
        return True, f"{name} set"

    # -- cache, logs, reboot --------------------------------------------------------------------
    def _purge_cache(self, args: dict[str, Any]) -> Outcome:
        if self.engine is None:
            return False, "no sync engine: no case-view cache to purge"
        return True, f"case-view cache purged: {self.engine.purge_cache()} deleted"

    def _upload_logs(self, args: dict[str, Any]) -> Outcome:
        """With ``args.blob`` true (addendum "Updates"): every log line of the configured source, masked and
        gzipped, as one blob followed by a ``logs.uploaded`` event. Without it, as central v1 expects: the
        newest log lines (ID and phone numbers masked) in the cmd.result detail."""
        if args.get("blob") is True:
            if self.k.log_uploader is None:
                return False, "blob upload not available (no sync engine)"
            since = args.get("since_h")
            since_h = float(since) if isinstance(since, int | float) and not isinstance(since, bool) else None
            return self.k.log_uploader.start(self.cmd_id, since_h)
        wanted = args.get("lines", LOG_LINES_DEFAULT)
        count = wanted if isinstance(wanted, int) and not isinstance(wanted, bool) else LOG_LINES_DEFAULT
        lines = self.k.recent_log.tail(max(1, min(count, LOG_LINES_MAX)))
        return True, {"lines": lines, "count": len(lines)}

    # -- updates (kiosk/update) -----------------------------------------------------------------
    def _update_install(self, args: dict[str, Any]) -> Outcome:
        if self.k.update_agent is None:
            return False, "updates not available on this terminal (no [update] settings or no sync engine)"
        return self.k.update_agent.on_install(args, self.cmd_id)

    def _update_rollback(self, args: dict[str, Any]) -> Outcome:
        if self.k.update_agent is None:
            return False, "updates not available on this terminal (no [update] settings or no sync engine)"
        return self.k.update_agent.on_rollback(args, self.cmd_id)

    def _reboot(self, args: dict[str, Any]) -> Outcome:
        """End the session (wiped), refuse new commits, and exit with REBOOT_EXIT_CODE for systemd to
        restart the service. Refused while a submission is being committed: central may send it again."""
        if self.k.exit_code is not None:
            return True, "reboot already under way"
        if not self.k.can_exit():
            return False, "reboot not possible: this application is not run by `kiosk run` (nobody would restart it)"
        if not self.k.services.submit.gate.close(wait_s=0.0):
            return False, "busy: a submission is being committed; send reboot again in a minute"
        self.k.sessions.end(EndReason.SHUTDOWN)
        self.k.devices.set_locked(REBOOT_MESSAGE)
        self.k.request_exit(REBOOT_EXIT_CODE)
        return True, "rebooting"
