"""Maximum response times of AT commands, in ms: the vendors' manuals' figures plus a
margin (late()), because real modules answer later than their manuals say.

The engine waits this long for a final result before raising ATTimeout. A dialect
adds its own commands (e.g. AT+CIPOPEN 120 s) with AT.timeouts.update(...).
Usage: timeout = BASE_TIMEOUTS.get(command_name(b"AT+COPS?"), DEFAULT_TIMEOUT)
"""

# Yuge EC716S manual 1.4: every command not listed answers within 9 s. SIMCom and
# Quectel manuals give 300 ms for simple queries, so 9 s is safe for all families.
DEFAULT_TIMEOUT = 9000


def late(ms):
    """A manual's maximum response time ms plus a quarter. Real modules answer later
    than their manuals' figures (issue 19: a SIM800-family CONNECT FAIL came 75.5 s
    after AT+CIPSTART, whose manual limit is 75 s), and a result that comes late is
    still the module's answer: giving up at the manual's figure would turn a refusal into ETIMEDOUT
    and leave a link that opened late unknown to us. Every limit in BASE_TIMEOUTS and
    in the dialects' TIMEOUTS goes through this."""
    return ms + ms // 4


BASE_TIMEOUTS = {
    # Yuge EC716S manual 1.4 table; SIMCom SIM7600 gives COPS 120 s, Quectel 180 s.
    "+COPS": late(300000),
    "+CGACT": late(150000),  # Quectel gives 150 s ("determined by network"), Yuge 108 s
    "+CGATT": late(108000),
    "+CFUN": late(45000),
    "+CMGS": late(90000),
    "+CMGW": late(90000),
    "+CPBW": late(72000),
    "+CPIN": late(180000),  # Yuge 1.4: the SIM can take this long to answer PIN entry
    "+CSTT": late(60000),
    "+CHCR": late(90000),
    "+CIPSHUT": late(90000),
}


def command_name(cmd):
    """b"AT+CIPOPEN=0,..." -> "+CIPOPEN"; b"ATE0" -> "E0"."""
    if isinstance(cmd, (bytes, bytearray)):
        cmd = cmd.decode()
    end = len(cmd)
    for sep in "=?":
        i = cmd.find(sep)
        if 0 <= i < end:
            end = i
    start = 2 if cmd[:2] in ("AT", "at", "At", "aT") else 0
    return cmd[start:end]
