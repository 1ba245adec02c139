"""Yuge EC716S native MQTT commands (manual ch.13 M*): a mixin the yuge personality
inherits. Being filled in; see tools/modemsim/yuge.py."""
from .core import ModemSim


class YugeMQTT(ModemSim):
    pass
