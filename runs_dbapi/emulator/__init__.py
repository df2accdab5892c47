"""A local emulator of the Vertex AI TensorBoard REST API (standard library only).

The driver never imports this package, except to start an embedded emulator on request.
"""

from .app import Emulator
from .faults import FAULT_KINDS, FaultPlan

__all__ = ["FAULT_KINDS", "Emulator", "FaultPlan"]
