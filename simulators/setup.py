"""Packaging of the technician's and CI's tooling: every device simulator, the central-platform simulator and
the simulated hall (``kiosk-sim``). A separate distribution from the terminal's (``../setup.py``), so that
a terminal's production install carries no simulator and no test harness."""
from setuptools import setup

setup(
    name="gov-kiosk-sim",
    version="0.1.0",
    description="Device and central-platform simulators and the simulated hall for the self-service terminal",
    python_requires=">=3.11",
    # This folder is the package itself.
    package_dir={"simulators": "."},
    packages=["simulators", "simulators.camera", "simulators.central", "simulators.data", "simulators.hall",
              "simulators.idcard", "simulators.ioboard", "simulators.ioboard.fwsim", "simulators.printer",
              "simulators.scanner"],
    package_data={"simulators.data": ["*.json"]},
    install_requires=["pyserial>=3.5", "paho-mqtt>=2.1", "Pillow>=10", "segno>=1.6", "aiohttp>=3.9"],
    # pg: the central simulator's PostgreSQL store (instances that scale out); SQLite needs nothing.
    extras_require={"hall": ["playwright>=1.40"], "pg": ["psycopg[binary]>=3.1"]},
    entry_points={"console_scripts": ["kiosk-sim=simulators.cli:main"]},
)
