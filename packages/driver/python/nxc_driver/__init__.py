"""nxc_driver: runs NixOS-test-style Python scripts against a running nxc deployment.

Started by `nxc driver` (the @nxc/driver package), which runs every command through the
flavour's transport. See packages/driver/README.md.
"""

from .machine import Machine
from .rpc import RemoteError

__all__ = ["Machine", "RemoteError"]
