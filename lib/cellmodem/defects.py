"""Known firmware defects of the modules the families cover, by revision, each with
the public report it comes from. Modem.connect() checks the module against the table
once per module session (a full bring-up, not a resume) and warns; modem.info()
lists what applies. The module is imported for the check and dropped again, so it
holds no heap afterwards.

None of these is in our manuals: each line cites the public issue thread where users
(and the board makers' maintainers) found it. No entry has a workaround the library
can switch on: the advice is the firmware that behaved.

Usage: found = defects.check(modem)  # [(problem, source, advice), ...]
"""

# (family, model prefix ("" any), revision substrings (any), problem, source, advice)
TABLE = (
    ("sim7080", "", ("1951B16SIM7080",),
     "GNSS gets no fix (the receiver hangs once powered off and on again)",
     "github.com/Xinyuan-LilyGO/LilyGo-T-SIM7080G/issues/144, "
     "github.com/zephyrproject-rtos/zephyr/pull/98841",
     "update the module firmware (1951B17SIM7080 fixed again in that report)"),
    ("sim7080", "", ("1951B10SIM7080",),
     "no registration with SIM cards that work on other revisions ('No Service')",
     "github.com/vshymanskyy/TinyGSM/issues/592",
     "change the module firmware (1951B05SIM7080 registered with the same cards)"),
    ("sim7600", "A7608", ("A50C4B0",),
     "GNSS positions are wrong on revisions before B11",
     "github.com/Xinyuan-LilyGO/LilyGo-Modem-Series/issues/87",
     "update the module firmware to B11 or later"),
    ("sim7600", "SIM7670", ("2374B04SIM767X",),
     "the GNSS receiver acquires no satellites (B04V01_241010; #394 reports B05 alike)",
     "github.com/Xinyuan-LilyGO/LilyGo-Modem-Series/issues/477",
     "another firmware, or a GNSS receiver of its own"),
)


def find(family, model, revision):
    """The entries for that family, model name and revision text: [(problem, source,
    advice), ...]."""
    model = (model or "").upper()
    out = []
    for fam, prefix, revs, problem, source, advice in TABLE:
        if fam != family or not model.startswith(prefix.upper()):
            continue
        for r in revs:
            if r in revision:
                out.append((problem, source, advice))
                break
    return out


def check(modem, warn=True):
    """Ask the module its revision (and model, where an entry names one) and return
    what the table knows for it; printed as warnings unless warn=False. The result
    is kept in modem.module_state["defects"] for the module session."""
    family = modem.dialect.NAME
    entries = [t for t in TABLE if t[0] == family]
    found = []
    if entries:
        # as cellmodem.ident's firmware() and model() (not imported for this)
        rev = modem._one("AT+CGMR", ("+CGMR:", "Revision:"))
        model = modem._one("AT+CGMM", "+CGMM:") if [t for t in entries if t[1]] else ""
        found = find(family, model, rev)
        if warn:
            for problem, source, advice in found:
                print("cellmodem: warning: %s %s: %s (%s); %s" % (family, rev, problem,
                                                                   source, advice))
    modem.module_state["defects"] = found
    return found


def once(modem):
    """check() from Modem.connect(): a module that will not say its revision is no
    failure of the bring-up. cellmodem.bringup drops this module afterwards on
    MicroPython, so its table and code go with the next collection."""
    from cellmodem.errors import ModemError
    try:
        check(modem)
    except ModemError:
        modem.module_state["defects"] = []
