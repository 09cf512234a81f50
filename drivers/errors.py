"""The root of every driver's exception tree, so that the application can catch any device fault."""


class DeviceError(Exception):
    """A device could not do what was asked. ``code`` is stable for operators and logs."""

    code = "device_error"

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        if code is not None:
            self.code = code
