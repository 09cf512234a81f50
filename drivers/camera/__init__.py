"""Document camera (高拍仪): capture backends behind one ``Camera`` interface (V4L2, simulated), the
Pillow pipeline that turns a frame into a compact page, multi-page PDF, and QR/barcode decoding."""
from drivers.camera.base import Camera, CameraError, CameraMissing, CaptureFailed, open_camera
from drivers.camera.codes import Code, decode_codes
from drivers.camera.pdf import pages_to_pdf
from drivers.camera.pipeline import Page, PipelineConfig, frame_motion, process_capture
from drivers.camera.quality import BadExposure, BlankPage, BlurredPage, PageNotFound, PageRejected, RejectCode
from drivers.camera.simulated import Scenario, SimulatedCamera
from drivers.camera.v4l2 import V4L2Camera

__all__ = [
    "BadExposure", "BlankPage", "BlurredPage", "Camera", "CameraError", "CameraMissing", "CaptureFailed",
    "Code", "Page", "PageNotFound", "PageRejected", "PipelineConfig", "RejectCode", "Scenario",
    "SimulatedCamera", "V4L2Camera", "decode_codes", "frame_motion", "open_camera", "pages_to_pdf", "process_capture",
]
