"""What can go wrong with an update, as one small exception tree. Each error has a stable ``code`` that
the command line prints, the installer journals and the ``update.result`` event carries to central."""
from __future__ import annotations


class UpdateError(Exception):
    """Root of the update errors; ``code`` is stable, the message says what to do in plain words."""

    code = "update_error"


class BundleRefused(UpdateError):
    """The bundle is not installed: nothing on the terminal changed."""

    code = "refused"


class BundleMalformed(BundleRefused):
    """The bundle is not a bundle of this format (no manifest, a manifest field is wrong, a file not listed)."""

    code = "malformed"


class BundleUnsigned(BundleRefused):
    """The manifest carries no signature."""

    code = "unsigned"


class BundleUnknownKey(BundleRefused):
    """Signed by a key id this terminal does not accept (not yet deployed, or retired)."""

    code = "unknown_key"


class BundleBadSignature(BundleRefused):
    """The signature does not verify: the manifest was changed or signed by another key."""

    code = "bad_signature"


class BundleDowngrade(BundleRefused):
    """The bundle's version is older than the running one (a rollback goes through ``rollback``)."""

    code = "downgrade"


class BundleSameVersion(BundleRefused):
    """The bundle's version is the one already running."""

    code = "same_version"


class BundleNeedsNewer(BundleRefused):
    """The running version is older than the bundle's ``min_version``: an intermediate update comes first."""

    code = "needs_newer"


class BundleTruncated(BundleRefused):
    """The bundle file ends early (an interrupted copy or download)."""

    code = "truncated"


class BundleCorrupt(BundleRefused):
    """A file's size or sha256 differs from the signed manifest."""

    code = "corrupt"


class InstallBusy(UpdateError):
    """Another installer holds the lock on the update root."""

    code = "busy"


class InstallFailed(UpdateError):
    """Staging the new version failed (disk full, pip, the new version does not import); the running
    version was not touched."""

    code = "failed"


class NothingToRollBack(UpdateError):
    """No previous version is kept on this terminal."""

    code = "no_previous"


class NotInstalled(UpdateError):
    """The update root holds no installed version (``kiosk update install`` makes the first one)."""

    code = "not_installed"
