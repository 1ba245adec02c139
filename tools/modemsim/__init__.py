"""Modem simulator for host tests (CPython, standard library only).

    from tools.modemsim import get_personality
    sim = get_personality("sim7080")(seed=1).attach(uart)

Personalities live in tools/modemsim/<name>.py and name their class in a module
attribute PERSONALITY (or "<module>:<Class>" in the registry names another class).
They are imported lazily, so a missing one only fails when it is asked for.
"""
import importlib

from .core import ModemSim, Cmd, Faults, command, split_args, CME_TEXT  # noqa: F401

from ..families import personalities

# name -> "<module>[:<Class>]" (inside this package), from the family registry
# (tools/families.py): a new personality is its module plus one registry entry.
PERSONALITIES = personalities()


class PersonalityError(LookupError):
    pass


def get_personality(name):
    """The ModemSim subclass for a dialect name (e.g. 'sim7080')."""
    mod_name, _, cls_name = PERSONALITIES.get(name, name).partition(":")
    if not mod_name.replace("_", "").isalnum():
        raise PersonalityError("bad personality name %r" % name)
    try:
        mod = importlib.import_module("." + mod_name, __name__)
    except ModuleNotFoundError as e:
        if e.name and e.name.endswith("." + mod_name):
            raise PersonalityError(
                "modem personality %r is not available (no module tools/modemsim/%s.py); "
                "known names: %s" % (name, mod_name, ", ".join(sorted(PERSONALITIES))))
        raise
    cls = getattr(mod, cls_name or "PERSONALITY", None)
    if cls is None:
        raise PersonalityError("tools/modemsim/%s.py defines no PERSONALITY class" % mod_name)
    return cls
