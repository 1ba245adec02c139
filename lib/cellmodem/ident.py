"""What a modem says about itself and its SIM, loaded on first use: identity (IMEI,
IMSI, ICCID, model, maker, firmware), the SIM PIN, the signal, the operator, the
module's clock, and network.WLAN's status()/ipconfig() names.

Modem reaches these through its __getattr__ (cellmodem.modem), so modem.imei() works
as a method while a board that never asks spends no heap on this code (issue 20).
Usage: modem.imei(), modem.unlock("1234"), modem.status("rssi")
"""
from cellmodem.compat import ticks_ms, ticks_diff, ticks_add
from cellmodem.errors import ATError, ATTimeout, ModemError, SIMError
from cellmodem.validate import at_string

_CPIN_MASKED = 'AT+CPIN="****"'


def imei(modem):
    return modem._one("AT+CGSN", "+CGSN:")


def imsi(modem):
    return modem._one("AT+CIMI", "+CIMI:")


def iccid(modem):
    forms = modem.dialect.ICCID
    if isinstance(forms[0], str):
        forms = (forms,)
    for cmd, prefix in forms:  # the first form the firmware knows
        try:
            return modem._one(cmd, prefix)
        except ATError:
            if cmd == forms[-1][0]:
                raise


def model(modem):
    return modem._one("AT+CGMM", "+CGMM:")


def manufacturer(modem):
    return modem._one("AT+CGMI", "+CGMI:")


def firmware(modem):
    # "+CGMR: <rev>", "Revision: <rev>" (SIMCom), or the bare revision; Yuge 2.3
    # quotes it after "Revision: "
    s = modem._one("AT+CGMR", ("+CGMR:", "Revision:"))
    return s[9:].strip() if s.startswith("Revision:") else s


# the test form of each family's GNSS power command: OK where the variant has a
# receiver (cellmodem.gnss's forms; A76xx: the read form, its test form varies)
_GNSS_PROBE = {"sim7080": "AT+CGNSPWR=?", "sim7600": "AT+CGPS=?", "quectel": "AT+QGPS=?",
               "a7600": "AT+CGNSSPWR?"}


def info(modem):
    """What the module is, as a dict: "manufacturer", "model", "firmware" (AT+CGMI,
    AT+CGMM, AT+CGMR), "family" (the dialect), "gnss" (True: a receiver answers;
    False: this variant has none; None: the library drives no GNSS in this family),
    "sms" (the module answers AT+CMGF=?), "defects": [(problem, public source,
    advice)] for its revision (cellmodem.defects; Modem.connect() warns of them)."""
    from cellmodem.defects import find
    name = modem.dialect.NAME
    mdl = model(modem)
    rev = firmware(modem)
    out = {"manufacturer": manufacturer(modem), "model": mdl, "firmware": rev,
           "family": name, "gnss": None, "sms": False,
           "defects": find(name, mdl, rev)}
    probe = _GNSS_PROBE.get("a7600" if name == "sim7600" and mdl.upper().startswith("A76")
                            else name)
    for key, cmd in (("gnss", probe), ("sms", "AT+CMGF=?")):
        if cmd:
            try:
                modem.at.command(cmd)
                out[key] = True
            except ATError:
                out[key] = False
    return out


def unlock(modem, pin):
    """Enter the SIM PIN (a str of digits) if the SIM asks for one. Raises SIMError
    on a wrong PIN (the module's words, never the PIN), TypeError/ValueError for a
    PIN that is no str of digits (nothing sent)."""
    pin = at_string(pin, "PIN", 8, empty=False, secret=True)
    if not pin.isdigit():
        raise ValueError("PIN must be digits")
    state = modem.sim_state()
    if state == "READY":
        return
    if state != "SIM PIN":
        raise SIMError(state)
    # The PIN is in the command, and an error names its command: none may escape with
    # it (nor be chained to what is raised), in its text or its .command.
    err = None
    try:
        modem.at.command('AT+CPIN="%s"' % pin)
    except ATError as e:
        err = SIMError("SIM PIN", "SIM refused the PIN: %s"
                       % (e.text if e.code is None else "%s (%s)" % (e.text, e.code)))
    except ATTimeout as e:
        err = ATTimeout(_CPIN_MASKED, e.timeout_ms)
    except ModemError as e:  # ModemOff, InDataMode...: texts without the command
        e.command = _CPIN_MASKED
        err = e
    if err is not None:
        raise err
    _wait_sim_ready(modem, 10000)


def _wait_sim_ready(modem, timeout):
    deadline = ticks_add(ticks_ms(), timeout)
    while True:
        state = modem.sim_state()
        if state == "READY":
            return
        if ticks_diff(deadline, ticks_ms()) <= 0:
            raise SIMError(state)
        modem.at.poll(200)


def signal(modem):
    """Received signal strength in dBm from AT+CSQ, or None if unknown (27.007 8.5)."""
    out = []
    modem.at.command("AT+CSQ", resp=b"+CSQ:", on_line=lambda l: out.append(l.int(0, 99)))
    rssi = out[0] if out else 99
    return None if rssi == 99 else -113 + 2 * rssi


def operator(modem):
    """The operator name from AT+COPS?, or None when not registered."""
    lines = modem.at.command("AT+COPS?", resp=b"+COPS:")
    return _field_str(lines[0], 2) if lines else None


def network_time(modem):
    """The module's clock as the string of AT+CCLK? ("yy/MM/dd,hh:mm:ss+zz")."""
    return modem._one("AT+CCLK?", "+CCLK:")


def status(modem, param=None):
    """Without param the link: "got_ip" (data link up), else from the network's
    registration (AT+CxREG?, queried now): "registered", "searching", "denied" or
    "idle". status("rssi"): the signal in dBm (None if unknown). ValueError for
    another param."""
    if param is not None:
        if param != "rssi":
            raise ValueError("status() knows 'rssi' only, not %r" % (param,))
        return signal(modem)
    if modem.isconnected():
        return "got_ip"
    return ("idle", "registered", "searching", "denied", "idle", "registered")[
        modem.registration()]


def ipconfig(modem, param):
    """ipconfig("addr4"): (ip, netmask) as network.ipconfig() gives them; "0.0.0.0"
    before the data link is up; the netmask of a cellular data context is
    "255.255.255.255" (point to point). ValueError for another param."""
    if param != "addr4":
        raise ValueError("ipconfig() knows 'addr4' only, not %r" % (param,))
    return (modem.ip or "0.0.0.0", "255.255.255.255")


def _field_str(line, n):
    """n-th comma-separated field after the colon of a response line, unquoted."""
    s = line.decode()
    s = s[s.find(":") + 1:]
    parts = s.split(",")
    return parts[n].strip().strip('"') if n < len(parts) else None
