"""What `from cellmodem import X` gives for the names users reach for first, imported
when first asked for (cellmodem.__getattr__ calls get) so `import cellmodem` stays small."""

_ERRORS = ("ModemError", "ATError", "ATTimeout", "SIMError", "NetworkError")


def get(name):
    if name == "Modem":
        from cellmodem.modem import Modem
        return Modem
    if name == "AT":
        from cellmodem.at import AT
        return AT
    if name in _ERRORS:
        import cellmodem.errors
        return getattr(cellmodem.errors, name)
    if name[0] < "a":
        raise AttributeError(name)
    # MicroPython asks a module's __getattr__ before it imports a submodule
    # (from cellmodem import socket), and passes on its AttributeError: so import it.
    return __import__("cellmodem." + name, None, None, (name,))
