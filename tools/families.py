"""The modem families, as the host side knows them: one registry entry per family.

What a board needs at run time lives on the dialect class
(lib/cellmodem/dialects/<name>.py: RX_MODES, SERVER, TLS, POWER, DATA, TIMEOUTS, ...)
and the family's model names in lib/cellmodem/dialects/__init__.py (NAMES, _DETECT),
so a board that loads one dialect pays for no other. This module holds what only the
host needs: the simulator personality (tools/modemsim/<module>.py), the package a board
installs (packages/cellmodem-<name>/) and the facts the tests check the wire against.
The tests (the `family` fixture in host_tests/conftest.py), the benchmark, the
soak, the fuzzer, tools.deploy and tools.package_json read it; a test checks that it
agrees with lib/, tools/modemsim and packages/ (host_tests/test_families.py).

Adding a family: an entry in FAMILIES below, its name and model names in
lib/cellmodem/dialects/__init__.py, lib/cellmodem/dialects/<name>.py (and
<name>_up.py, its data context's bring-up and ping, unless it reuses another's UP),
tools/modemsim/<name>.py and packages/cellmodem-<name>/manifest.py (then
python -m tools.package_json), and its tests. Nothing else names the families.

Usage: from tools import families; families.NAMES; families.get("quectel").open
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Family:
    """One family's host-side facts (keyword arguments, all required but personality):
    name      the dialect name (lib/cellmodem/dialects/<name>.py, Modem(dialect=...))
    personality  the simulator personality: a module of tools/modemsim ("<module>" or
              "<module>:<Class>"); the name if not given
    ready     the last line of the simulator's power-on banner (the module is ready)
    guard     the simulator option that sets the "+++" guard time, ms
    open      what the TCP open command starts with ("AT+CAOPEN=")
    send      the data send command's name ("+CASEND")
    read      the buffered read command's name ("+CARECV")
    sleep     the UART sleep command's name ("AT+CSCLK")"""

    def __init__(self, name, ready, guard, open, send, read, sleep, personality=None):
        self.name = name
        self.personality = personality or name
        self.ready = ready
        self.guard = guard
        self.open = open
        self.send = send
        self.read = read
        self.sleep = sleep

    @property
    def package(self):
        """The package a board installs for this family (packages/<package>/)."""
        return "cellmodem-" + self.name

    def dialect(self):
        """The dialect class (imports lib/cellmodem/dialects/<name>.py)."""
        return dialect(self.name)

    def data_commands(self, mode):
        """The commands that move a link's data in rx mode ("push" or "buffered")."""
        return [self.send] if mode == "push" else [self.send, self.read]

    def __repr__(self):
        return "Family(%r)" % self.name


FAMILIES = (
    # SIM7080/SIM7070/SIM7000: the CA command set (SIM7070_SIM7080_SIM7090 AT manual)
    Family("sim7080", ready="SMS Ready", guard="guard_ms", open="AT+CAOPEN=",
           send="+CASEND", read="+CARECV", sleep="AT+CSCLK"),
    # SIM7600/SIM7500/A76xx: CIPOPEN (SIM7500_SIM7600 and A7600 AT manuals)
    Family("sim7600", ready="PB DONE", guard="guard_ms", open="AT+CIPOPEN=",
           send="+CIPSEND", read="+CIPRXGET", sleep="AT+CSCLK"),
    # Quectel BG9x/EC2x/UG9x: QIOPEN (Quectel TCP/IP application note)
    Family("quectel", ready="+QIND: PB DONE", guard="guard_ms", open="AT+QIOPEN=",
           send="+QISEND", read="+QIRD", sleep="AT+QSCLK"),
    # Yuge EC716/YM310: CIPSTART (Yuge AT manual)
    Family("yuge", ready="+CPIN: READY", guard="escape_guard_ms", open="AT+CIPSTART=",
           send="+CIPSEND", read="+CIPRXGET", sleep="AT+CSCLK"),
    # SIMCom SIM800/SIM900: CIPSTART, multi-link (public knowledge: no manual here)
    Family("sim800", ready="SMS Ready", guard="escape_guard_ms", open="AT+CIPSTART=",
           send="+CIPSEND", read="+CIPRXGET", sleep="AT+CSCLK"),
)

# Simulator personalities that are a variant of a family, not a family of their own:
# name -> (family, "<module>:<Class>")
VARIANTS = {
    "sim7000": ("sim7080", "sim7080:Sim7000"),  # the sim7080 personality, variant="sim7000"
}

NAMES = tuple(f.name for f in FAMILIES)
_BY_NAME = {f.name: f for f in FAMILIES}


def get(name):
    """The Family called name (a variant's name gives its family); KeyError naming the
    known ones for any other."""
    if name in VARIANTS:
        name = VARIANTS[name][0]
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError("unknown family %r; known: %s" % (name, ", ".join(NAMES))) from None


def personalities():
    """{simulator personality name: "<module>[:<Class>]"}: every family and variant."""
    out = {f.name: f.personality for f in FAMILIES}
    out.update((v, spec) for v, (_, spec) in VARIANTS.items())
    return out


def _lib():
    lib = os.path.join(ROOT, "lib")
    if lib not in sys.path:
        sys.path.insert(0, lib)


def dialect(name):
    """The dialect class of family name (lib/cellmodem/dialects/<name>.py)."""
    _lib()
    from cellmodem.dialects import load
    return load(get(name).name)


def names(push=None, server=None, tls=None, data=None):
    """The family names, in registry order, narrowed by what their dialect class says
    they have: push (a "push" receive mode), server (listen/accept), tls (module
    TLS), data (transparent data mode). True keeps those that have it, False those
    that lack it, None does not narrow."""
    out = []
    for n in NAMES:
        cls = dialect(n)
        has = {"push": "push" in cls.RX_MODES, "server": bool(cls.SERVER),
               "tls": bool(cls.TLS), "data": cls.DATA is not None}
        want = {"push": push, "server": server, "tls": tls, "data": data}
        if all(w is None or bool(w) == has[k] for k, w in want.items()):
            out.append(n)
    return out


def modes(families=None):
    """[(family, rx mode)] for every receive mode of each family (all by default)."""
    return [(n, m) for n in (NAMES if families is None else families)
            for m in dialect(n).RX_MODES]
