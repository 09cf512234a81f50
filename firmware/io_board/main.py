"""Entry point on the board: the boot guard finishes or undoes an interrupted update, then runs the
firmware loop on the real board support. Never replaced by an update (fwboot.PROTECTED)."""
import fwboot

fwboot.main()
