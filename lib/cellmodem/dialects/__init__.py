"""The command families cellmodem speaks, and how to tell them apart.

Each dialect is one small module (sim7080, sim7600, quectel, yuge, sim800) holding its
tables (command templates, URC prefixes, limits, timeouts) and the few hooks that
differ. Only the chosen one is imported.
Usage: cls = dialects.load(dialects.detect("SIMCOM_SIM7080G"))
"""

NAMES = ("sim7080", "sim7600", "quectel", "yuge", "sim800")

# Substrings of AT+CGMM / ATI answers, per family (upper case), first match first:
# "<name>:<model>,<model>;...". One string, not a table of tuples: the table's 27
# short strings took 1.4 KiB of a board's heap (each interned as a name when the
# module loads; wasm32, from .mpy); detect() splits it once, when the model is read.
_DETECT = ("sim7080:SIM7080,SIM7070,SIM7000,SIM7090;"
           "sim7600:SIM7600,SIM7500,SIM7612,SIM7670,A7600,A7670,A7608;"
           "quectel:QUECTEL,BG95,BG96,BG77,EC2,EG9,EG2,UG9;"
           "yuge:YUGE,YUGA,EC716,YM310,YM;"
           # AT+CGMM "SIMCOM_SIM800L", "SIMCOM_SIM800C", "SIMCOM_SIM900" (public knowledge)
           "sim800:SIM800,SIM900,SIM808,SIM868")


def detect(text):
    """The dialect name whose model names appear in text, or None."""
    up = text.upper()
    for entry in _DETECT.split(";"):
        name, models = entry.split(":")
        for m in models.split(","):
            if m in up:
                return name
    return None


def load(name):
    """The dialect class for name; TypeError for a name that is no str, ValueError for
    one not in NAMES."""
    if type(name) is not str:
        raise TypeError("dialect must be a str, not %s" % type(name).__name__)
    if name not in NAMES:
        raise ValueError("unknown dialect %r; known: %s" % (name, ", ".join(NAMES)))
    mod = __import__("cellmodem.dialects." + name, None, None, ("DIALECT",))
    return mod.DIALECT
