"""Run the firmware's main.py on the MicroPython Unix port with the FAKE radio and IMU modules of this folder.

``micropython run_main.py <firmware dir>`` (cwd: this folder).
"""

import sys

import fake_aioble
import fake_bluetooth
import fake_machine

sys.modules["aioble"] = fake_aioble
sys.modules["bluetooth"] = fake_bluetooth
sys.modules["machine"] = fake_machine
sys.path.append(sys.argv[1])

import main  # noqa: E402, F401  (runs the firmware until the scripted central exits)
