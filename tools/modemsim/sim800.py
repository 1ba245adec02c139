"""SIMCom SIM800/SIM900 personality: the AT+CIPSTART TCP/IP family (SIM800L, SIM800C,
SIM800H, SIM900).

Source: public knowledge only, not the manuals in ../shared/manuals (none covers this
family): the behaviour SIMCom's SIM800 Series AT command manual and TCP/IP application
note describe, as module logs published by hobby users show it. The Yuge EC716S
personality (yuge.py) models a firmware that copies this command set, and it already
offers the SIM800 forms as options; this personality is that machine with the SIM800's
own settings and identity, and without the commands the SIM800 does not have.

What the SIM800 prints, as modelled here (each from public knowledge):
  - AT+CGMI "SIMCOM_Ltd", AT+CGMM "SIMCOM_SIM800L" (the variant's name), AT+CGMR
    "Revision:1418B05SIM800L24", ATI "SIM800 R14.18": bare lines, then OK
  - power-on: RDY, +CFUN: 1, +CPIN: READY, Call Ready, SMS Ready
  - link results with a space: "0, CONNECT OK", "0, SEND OK", "0, CLOSE OK", "0, CLOSED"
  - "+CIPRXGET: 1,0", "+CDNSGIP: 1,..." with a space after the colon
  - network loss "+PDP: DEACT"
  - AT+CIPSTATUS unused links: C: <n>,,"","","","INITIAL"
  - TCP/IP failures are a plain ERROR (no TCP/IP +CME codes); +CME texts are 27.007's
  - AT+CIPSSL=1 refused in the multi-link mode (its SSL is single-link only)
  - AT+CSCLK=1: sleeps while DTR is high; the UART does not wake it, DTR low does
Options are the Yuge personality's (see yuge.py) with these defaults.
"""
from .core import ModemSim, command
from .yuge import Yuge


class SIM800(Yuge):
    name = "sim800"
    manufacturer = "SIMCOM_Ltd"  # public knowledge: AT+CGMI answer
    model = "SIMCOM_SIM800L"  # public knowledge: AT+CGMM answer of a SIM800L
    revision = "Revision:1418B05SIM800L24"  # public knowledge: AT+CGMR answer form
    ati = "SIM800 R14.18"  # public knowledge: ATI answer form
    imei = "861234050012345"
    imsi = "234150012345678"
    iccid = "8944110012345678901"
    operator = "Example GSM"
    plmn = "23415"
    act = 0  # GSM
    ip = "10.164.25.7"
    noise_urcs = ("+CFUN: 1", "Call Ready", "SMS Ready")  # public knowledge: its idle lines
    defaults = dict(Yuge.defaults)
    defaults.update({
        "pdp_deact": "+PDP: DEACT",  # public knowledge: SIM800 firmware's form
        "cipstatus_initial": "sim800",  # public knowledge: its unused-link line
        "plain_errors": True,  # public knowledge: TCP/IP failures are a plain ERROR
        "tls_firmware": False,  # public knowledge: no SSL on multi-link sockets
        # public knowledge: the power-on lines of a SIM800 with a ready SIM
        "banner": "RDY|+CFUN: 1|{cpin}|Call Ready|SMS Ready",
        "network_apn": "internet",
    })
    # Yuge's own commands the SIM800 lacks (public knowledge: not in its command set):
    # its identity extras, module restart and wake timer, SSL contexts, native MQTT
    # and its file system
    unsupported = ("+ICCID", "*I", "+RESET", "+WAKETIM", "+SSLCFG", "+CPNETAPN",
                   "+MCONFIG", "+MIPSTART", "+SSLMIPSTART", "+MCONNECT", "+MPUB", "+MPUBEX",
                   "+MSUB", "+MUNSUB", "+MQTTMSGGET", "+MQTTMSGSET", "+MQTTMODE",
                   "+MDISCONNECT", "+MIPCLOSE", "+MQTTSTATU", "+FSCREATE", "+FSMKDIR",
                   "+FSRMDIR", "+FSDEL", "+FSREADHEAD", "+FSREAD", "+FSWRITE", "+FSDRIVE",
                   "+FSLS", "+FSMEM", "+FSFSIZE", "+FSFLSIZE")
    # public knowledge: AT+CSCLK=1 is the DTR-controlled sleep; UART input does not
    # wake the module in it (CSCLK=2, woken by UART data, is not modelled)
    dtr_sleep = (1,)
    idle_sleep = ()
    uart_wakes = False
    # public knowledge: AT+CIPSTART's maximum response time in multi-link mode is 160 s
    # (75 s single-link); a late CONNECT FAIL (late_fail quirk) comes after it
    open_max_ms = 160000

    # 27.007 error texts (Yuge's extra TCP/IP texts are not the SIM800's)
    cme_error = ModemSim.cme_error

    @command("+CGMI")
    def at_cgmi(self, c):
        if c.kind == "test":
            return self.ok()
        self.answer(self.manufacturer)  # public knowledge: the bare name, then OK

    @command("+CGMM")
    def at_cgmm(self, c):
        if c.kind == "test":
            return self.ok()
        self.answer(self.model)  # public knowledge: the bare model, then OK

    @command("+CGMR")
    def at_cgmr(self, c):
        if c.kind == "test":
            return self.ok()
        self.answer(self.revision)  # public knowledge: "Revision:<build>", then OK

    @command("I")
    def at_i(self, c):
        self.answer(self.ati)  # public knowledge: "SIM800 R14.18", then OK


PERSONALITY = SIM800
