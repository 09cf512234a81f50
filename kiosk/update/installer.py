"""The installer: stage a bundle in a new slot, switch ``current`` to it, restart the service, watch the
health window, then confirm (``good`` follows) or switch back. Every step is journaled before it is
taken and is safe to repeat, so ``resume`` finishes or undoes whatever a kill or a power loss
interrupted; the service always has a complete slot to run."""
from __future__ import annotations

import logging
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from kiosk.update import state as journal
from kiosk.update.build import build_slot, remove_unused_deps
from kiosk.update.bundle import check_signature, check_versions, read_manifest
from kiosk.update.errors import BundleMalformed, BundleRefused, InstallFailed, NothingToRollBack, UpdateError
from kiosk.update.health import Snapshot, probe, problems
from kiosk.update.request import read_request
from kiosk.update.settings import UpdateSettings
from kiosk.update.slots import RootLock
from kiosk.update.state import Action, Outcome, Phase, Result, SlotRef, Target, Trial, UpdateState, now_iso
from kiosk.update.versions import BadVersion, Version

log = logging.getLogger(__name__)

POLL_S = 0.5
MAX_TRIAL_RESUMES = 3    # an interrupted health window is taken up again at most this often
REQUESTS_KEPT = 20
RESTART_TIMEOUT_S = 120.0


class Installer:
    """One root's installer. ``say(text)`` receives progress lines (the command line prints them)."""

    def __init__(self, settings: UpdateSettings, say: Callable[[str], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.s = settings
        self.layout = settings.layout
        self.say = say or (lambda text: log.info("%s", text))
        self.sleep = sleep

    # -- reading --------------------------------------------------------------------------------------
    def state(self) -> UpdateState:
        """The journal; without one, what the links say (a terminal installed before the journal existed,
        or a lost journal). Raises ValueError when the journal is unreadable and no link helps."""
        try:
            loaded = journal.load(self.layout.journal)
        except ValueError:
            loaded = None
            if self.layout.linked(self.layout.good) is None:
                raise
            log.error("update journal unreadable: rebuilt from the links")
        if loaded is not None:
            return loaded
        good = self.layout.linked(self.layout.good)
        slot = self.layout.read_slot(good) if good else None
        return UpdateState(current=slot, slots_made=len(self.layout.slot_names()))

    def _save(self, state: UpdateState) -> UpdateState:
        self.layout.root.mkdir(parents=True, exist_ok=True)
        journal.save(self.layout.journal, state)
        return state

    # -- entry points ---------------------------------------------------------------------------------
    def install(self, bundle: Path, rollout_id: str | None = None) -> Outcome:
        """Installs ``bundle`` (after finishing anything interrupted). Returns the outcome: INSTALLED,
        ROLLED_BACK, FAILED or REFUSED (while staging). Raises InstallBusy, or BundleRefused when the
        bundle is refused before anything changed (also journaled, for the report to central)."""
        with RootLock(self.layout):
            return self._install(self._settle(self.state()), bundle, rollout_id)

    def resume(self) -> UpdateState:
        """Finishes or undoes an interrupted install or rollback, then carries out the service's pending
        request (a bundle central sent, or central's rollback) unless it was carried out already.
        Returns the journal afterwards."""
        with RootLock(self.layout):
            state = self._settle(self.state())
            try:
                request = read_request(self.s.request)
            except ValueError as exc:
                self.say(f"ignored an unusable request: {exc}")
                request = None
            if request is not None and request.id not in state.requests:
                state = self._save(replace(state, requests=(*state.requests, request.id)[-REQUESTS_KEPT:]))
                # Taken (the journal holds its id): gone before the work, so that nobody who hears the
                # result (the service, central) can still find the request waiting.
                self.s.request.unlink(missing_ok=True)
                try:
                    if request.action is Action.ROLLBACK:
                        self._rollback(state, request.rollout_id)
                    else:
                        bundle = self.s.bundles / (request.bundle or "")
                        if bundle.is_symlink():   # the service's folder: only its own files, never a link
                            raise BundleMalformed(f"{bundle.name} is a link, not a downloaded bundle")
                        self._install(state, bundle, request.rollout_id)
                except UpdateError as exc:
                    self.say(f"request {request.id} not carried out: {exc}")
            self.s.request.unlink(missing_ok=True)
            return self.state()

    def rollback(self, rollout_id: str | None = None) -> Outcome:
        """Switches back to the previous slot, with the same health window. Raises NothingToRollBack."""
        with RootLock(self.layout):
            return self._rollback(self._settle(self.state()), rollout_id)

    # -- install --------------------------------------------------------------------------------------
    def _install(self, state: UpdateState, bundle: Path, rollout_id: str | None) -> Outcome:
        running = Version.parse(state.current.version) if state.current is not None else None
        try:
            manifest = read_manifest(bundle)
            check_signature(manifest, self.s.public_keys())
            check_versions(manifest, running)
        except BundleRefused as exc:
            version = _bundle_version(bundle)
            outcome = Outcome(Result.REFUSED, version, _version(state.current), exc.code, str(exc), now_iso(),
                              rollout_id)
            self._save(replace(state, last=outcome).with_event(
                "refused", version, str(exc), rollout_id=rollout_id, result=Result.REFUSED,
                from_version=outcome.from_version, code=exc.code))
            raise
        local = self._take_in(bundle)
        name = f"{state.slots_made + 1:04d}-{manifest.version}"
        target = Target(Action.INSTALL, SlotRef(name, str(manifest.version), manifest.firmware_version),
                        str(local), rollout_id)
        state = self._save(replace(state, phase=Phase.STAGING, target=target, slots_made=state.slots_made + 1)
                           .with_event("staging", target.slot.version, f"from {bundle.name}"))
        self.say(f"staging {manifest.version} in slot {name}")
        return self._stage(state)

    def _take_in(self, bundle: Path) -> Path:
        """The bundle on the terminal's own disk: a copy from a USB stick (so that pulling the stick out
        cannot break a resume), or the file the service downloaded."""
        bundle = bundle.resolve()
        for local in (self.s.bundles, self.layout.incoming):
            if local.resolve() in bundle.parents:
                return bundle
        self.layout.incoming.mkdir(parents=True, exist_ok=True)
        copy = self.layout.incoming / bundle.name
        tmp = copy.with_name(f".{copy.name}.tmp")
        shutil.copyfile(bundle, tmp)
        tmp.replace(copy)
        return copy

    def _stage(self, state: UpdateState) -> Outcome:
        target = _target(state)
        try:
            slot = build_slot(self.layout, target.slot.name, Path(target.bundle or ""), self.s.public_keys(),
                              _parse(state.current), self.s.python)
        except BundleRefused as exc:
            return self._abandon(state, Result.REFUSED, exc)
        except (InstallFailed, OSError) as exc:
            return self._abandon(state, Result.FAILED, exc)
        baseline = probe(self.s.status_url)
        state = self._save(replace(state, phase=Phase.SWITCHING, target=replace(target, slot=slot),
                                   trial=Trial(time.time(), self.s.window_s, baseline.to_json()))
                           .with_event("switching", slot.version))
        return self._switch(state)

    def _abandon(self, state: UpdateState, result: Result, exc: Exception) -> Outcome:
        target = _target(state)
        code = exc.code if isinstance(exc, UpdateError) else "failed"
        self.say(f"{target.slot.version} not installed: {exc}")
        self.layout.remove_slot(target.slot.name)
        self._drop_bundle(target)
        outcome = Outcome(result, target.slot.version, _version(state.current), code, str(exc)[:400], now_iso(),
                          target.rollout_id)
        self._save(replace(state, phase=Phase.IDLE, target=None, trial=None, last=outcome).with_event(
            result.value, target.slot.version, str(exc), result=result, from_version=outcome.from_version, code=code,
            rollout_id=target.rollout_id))
        return outcome

    # -- switch, trial, confirm, revert ---------------------------------------------------------------
    def _switch(self, state: UpdateState) -> Outcome:
        target = _target(state)
        self.layout.point(self.layout.current, target.slot.name)
        if state.current is None:
            # The very first install: there is nothing to go back to, so nothing to watch for.
            self.layout.point(self.layout.good, target.slot.name)
            return self._confirm(state, "first install: no previous version to go back to")
        state = self._save(replace(state, phase=Phase.TRIAL).with_event("restarting", target.slot.version))
        self.say(f"switched to {target.slot.version}; restarting the service")
        self.restart()
        return self._trial(state)

    def _trial(self, state: UpdateState) -> Outcome:
        target = _target(state)
        trial = state.trial or Trial(time.time(), self.s.window_s, {})
        self.say(f"health window: up to {trial.window_s:.0f} s for {target.slot.version} to prove itself")
        found = self._watch(target.slot, Snapshot.from_json(trial.baseline), trial.window_s)
        if not found:
            return self._confirm(state, "healthy")
        state = self._save(replace(state, phase=Phase.REVERTING).with_event(
            "reverting", target.slot.version, "; ".join(found)))
        return self._revert(state, "; ".join(found))

    def _watch(self, slot: SlotRef, baseline: Snapshot, window_s: float) -> list[str]:
        deadline = time.monotonic() + window_s
        healthy_since: float | None = None
        last = ["not checked"]
        restarted = False
        while time.monotonic() < deadline:
            now = probe(self.s.status_url)
            found = problems(baseline, now, slot.version, slot.firmware_version)
            if not found:
                healthy_since = time.monotonic() if healthy_since is None else healthy_since
                if time.monotonic() - healthy_since >= self.s.confirm_s:
                    return []
            else:
                healthy_since = None
                last = found
                # A resumed window may find the old process still serving (killed before the restart).
                if now.answered and now.version != slot.version and not restarted:
                    restarted = True
                    self.restart()
            self.sleep(POLL_S)
        return [f"not healthy within {window_s:.0f} s: " + "; ".join(last)]

    def _confirm(self, state: UpdateState, detail: str) -> Outcome:
        target = _target(state)
        self.layout.point(self.layout.good, target.slot.name)
        left = state.current
        outcome = Outcome(Result.ROLLED_BACK if target.action is Action.ROLLBACK else Result.INSTALLED,
                          target.slot.version, _version(left), "ok", detail, now_iso(), target.rollout_id)
        self._save(replace(state, phase=Phase.IDLE, current=target.slot, previous=left, target=None, trial=None,
                           last=outcome).with_event(outcome.result.value, target.slot.version, detail,
                                                    result=outcome.result, from_version=outcome.from_version,
                                                    code="ok", rollout_id=target.rollout_id))
        self.say(f"{target.slot.version} confirmed ({detail})")
        self._drop_bundle(target)
        self._collect()
        return outcome

    def _revert(self, state: UpdateState, reason: str) -> Outcome:
        """Back to the last confirmed slot (``state.current``), both links, then restart the service."""
        target = _target(state)
        back = state.current
        if back is None:
            raise InstallFailed("nothing to go back to")
        self.layout.point(self.layout.current, back.name)
        self.layout.point(self.layout.good, back.name)
        self.say(f"{target.slot.version} did not prove itself ({reason}); back to {back.version}")
        self.restart()
        if target.action is Action.INSTALL:
            result, code = Result.ROLLED_BACK, "unhealthy"
            self.layout.remove_slot(target.slot.name)
        else:
            result, code = Result.FAILED, "rollback_unhealthy"
        outcome = Outcome(result, target.slot.version, back.version, code, reason[:400], now_iso(), target.rollout_id)
        self._save(replace(state, phase=Phase.IDLE, target=None, trial=None, last=outcome).with_event(
            result.value, target.slot.version, reason, result=result, from_version=back.version, code=code,
            rollout_id=target.rollout_id))
        self._drop_bundle(target)
        return outcome

    def restart(self) -> None:
        """Runs the restart command; a failure is logged, the health window decides what it meant."""
        try:
            done = subprocess.run(list(self.s.restart), capture_output=True, text=True, timeout=RESTART_TIMEOUT_S,
                                  stdin=subprocess.DEVNULL, check=False)
            if done.returncode != 0:
                log.warning("restart command exited %d: %s", done.returncode, done.stderr.strip()[-200:])
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("restart command failed: %s", exc)

    # -- rollback -------------------------------------------------------------------------------------
    def _rollback(self, state: UpdateState, rollout_id: str | None) -> Outcome:
        previous = state.previous
        if previous is None or self.layout.read_slot(previous.name) is None:
            raise NothingToRollBack("no previous version is kept on this terminal")
        baseline = probe(self.s.status_url)
        target = Target(Action.ROLLBACK, previous, None, rollout_id)
        state = self._save(replace(state, phase=Phase.SWITCHING, target=target,
                                   trial=Trial(time.time(), self.s.window_s, baseline.to_json()))
                           .with_event("switching", previous.version, "rollback"))
        return self._switch(state)

    # -- resume ---------------------------------------------------------------------------------------
    def _settle(self, state: UpdateState) -> UpdateState:
        """Carries an interrupted phase to its end (forward where the work is still valid, else back)."""
        if state.phase is Phase.IDLE:
            self._repair_links(state)
            self._collect()
            return state
        target = _target(state)
        self.say(f"resuming an interrupted {target.action.value} of {target.slot.version} ({state.phase.value})")
        if state.phase is Phase.STAGING:
            bundle = Path(target.bundle or "")
            if not bundle.is_file():
                self._abandon(state, Result.FAILED, InstallFailed(f"the bundle {bundle.name} is gone"))
            else:
                self._stage(state)
        elif state.phase is Phase.SWITCHING:
            self._switch(state)
        elif state.phase is Phase.TRIAL:
            trial = state.trial or Trial(time.time(), self.s.window_s, {})
            state = self._save(replace(state, trial=replace(trial, resumes=trial.resumes + 1)))
            if trial.resumes + 1 > MAX_TRIAL_RESUMES:
                state = self._save(replace(state, phase=Phase.REVERTING).with_event(
                    "reverting", target.slot.version, "health window interrupted too often"))
                self._revert(state, "health window interrupted too often")
            else:
                self._trial(state)
        elif state.phase is Phase.REVERTING:
            self._revert(state, state.events[-1].detail if state.events else "interrupted")
        return self.state()

    def _repair_links(self, state: UpdateState) -> None:
        if state.current is None:
            return
        if self.layout.linked(self.layout.good) != state.current.name:
            self.layout.point(self.layout.good, state.current.name)
        if self.layout.linked(self.layout.current) != state.current.name:
            log.warning("current did not point at the confirmed %s: repaired", state.current.version)
            self.layout.point(self.layout.current, state.current.name)
            self.restart()

    def _collect(self) -> None:
        """Removes slots neither running nor kept for rollback, and leftovers of interrupted copies."""
        try:
            state = journal.load(self.layout.journal)
        except ValueError:
            return
        if state is None or state.phase is not Phase.IDLE:
            return
        keep = {s.name for s in (state.current, state.previous) if s is not None}
        keep |= {n for n in (self.layout.linked(self.layout.current), self.layout.linked(self.layout.good)) if n}
        for name in self.layout.slot_names():
            if name not in keep:
                self.layout.remove_slot(name)
        remove_unused_deps(self.layout, keep)
        if self.layout.incoming.is_dir():
            shutil.rmtree(self.layout.incoming, ignore_errors=True)

    def _drop_bundle(self, target: Target) -> None:
        if target.bundle:
            path = Path(target.bundle)
            if self.s.bundles.resolve() in path.resolve().parents or self.layout.incoming in path.parents:
                path.unlink(missing_ok=True)


def _target(state: UpdateState) -> Target:
    if state.target is None:
        raise InstallFailed(f"journal in phase {state.phase.value} without a target")
    return state.target


def _version(slot: SlotRef | None) -> str | None:
    return None if slot is None else slot.version


def _parse(slot: SlotRef | None) -> Version | None:
    return None if slot is None else Version.parse(slot.version)


def _bundle_version(bundle: Path) -> str:
    try:
        return str(read_manifest(bundle).version)
    except (BundleRefused, BadVersion, OSError):
        return "?"
