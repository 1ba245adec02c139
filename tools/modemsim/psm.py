"""PSM and eDRX (3GPP TS 27.007), for the personalities of LTE-M/NB-IoT families.

None of the project's manuals covers them; this follows 27.007 and the timer
encodings of 24.008, written from the standard, sharing nothing with the library:
  AT+CPSMS=<mode>[,,,<Requested_Periodic-TAU>,<Requested_Active-Time>]
        the two timers as 8-character bit strings: T3412 extended (GPRS Timer 3,
        24.008 10.5.7.4a) and T3324 (GPRS Timer 2, 10.5.7.3); AT+CPSMS? reads back
        what was requested
  AT+CEREG=4 then AT+CEREG?: +CEREG: 4,<stat>,<tac>,<ci>,<AcT>,,,"<Active-Time>",
        "<Periodic-TAU>" with what the network granted (27.007 10.1.22)
  AT+CEDRXS=<mode>,<AcT-type>,<Requested_eDRX_value> (27.007 7.40), 4-bit string;
  AT+CEDRXRDP: +CEDRXRDP: <AcT-type>,<Requested>,<NW-provided>,<PTW> (7.41)
The network's answer: what was requested, unless psm_network / edrx_network (test
knobs: bit strings) say what this network grants instead.
"""
from .core import command


def _bits(s, n):
    return isinstance(s, str) and len(s) == n and set(s) <= {"0", "1"}


class PSMCommands:
    """Mixed into a personality: PSM and eDRX requests and the network's grants."""

    psm_supported = True
    psm_network = None  # (T3324 bits, T3412 bits) the network grants instead
    edrx_network = None  # eDRX bits the network grants instead

    def psm_reset(self):
        self.cpsms = (0, None, None)  # mode, requested T3412, requested T3324
        self.cedrxs = (0, 4, None)  # mode, AcT type, requested value

    def psm_granted(self):
        """(Active-Time bits, Periodic-TAU bits) the network granted, or None."""
        mode, tau, active = self.cpsms
        if not mode or tau is None or active is None:
            return None
        return self.psm_network or (active, tau)

    @command("+CPSMS")
    def at_cpsms(self, c):
        if c.kind == "test":
            return self.answer('+CPSMS: (0,1),,,("00000000"-"11111111"),("00000000"-"11111111")')
        if c.kind == "read":
            mode, tau, active = self.cpsms
            if not mode:
                return self.answer("+CPSMS: 0")
            return self.answer('+CPSMS: 1,,,"%s","%s"' % (tau, active))
        mode = c.int(0, 0)
        tau = c.str(3, "") or None
        active = c.str(4, "") or None
        if mode not in (0, 1, 2) or any(v is not None and not _bits(v, 8) for v in (tau, active)):
            return self.cme_error(50)
        self.cpsms = (0, None, None) if mode != 1 else (1, tau, active)
        self.ok()

    @command("+CEDRXS")
    def at_cedrxs(self, c):
        if c.kind == "test":
            return self.answer('+CEDRXS: (0-3),(4,5),("0000"-"1111")')
        if c.kind == "read":
            mode, act, value = self.cedrxs
            return self.answer('+CEDRXS: %d,"%s"' % (act, value) if mode else "+CEDRXS: 0")
        mode = c.int(0, 0)
        act = c.int(1, 4)
        value = c.str(2, "") or None
        if mode not in (0, 1, 2, 3) or act not in (4, 5) or (
                value is not None and not _bits(value, 4)):
            return self.cme_error(50)
        self.cedrxs = (1, act, value) if mode in (1, 2) and value else (0, act, None)
        self.ok()

    @command("+CEDRXRDP")
    def at_cedrxrdp(self, c):
        mode, act, value = self.cedrxs
        if not mode or not self.registered:
            return self.answer("+CEDRXRDP: 0")
        granted = self.edrx_network or value
        # PTW 0011 (5.12 s on LTE-M, 24.008 table 10.5.5.32)
        self.answer('+CEDRXRDP: %d,"%s","%s","0011"' % (act, value, granted))
