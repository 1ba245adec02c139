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
    raise AttributeError(name)
