"""Yuge EC716S native HTTP commands (manual ch.10 SAPBR, ch.11 HTTP*): a mixin the
yuge personality inherits. Being filled in; see tools/modemsim/yuge.py."""
from .core import ModemSim


class YugeHTTP(ModemSim):
    pass
