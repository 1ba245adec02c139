"""Maximum response times of AT commands, in ms, from the vendors' manuals.

The engine waits this long for a final result before raising ATTimeout. A dialect
adds its own commands (e.g. AT+CIPOPEN 120 s) with AT.timeouts.update(...).
Usage: timeout = BASE_TIMEOUTS.get(command_name(b"AT+COPS?"), DEFAULT_TIMEOUT)
"""

# Yuge EC716S manual 1.4: every command not listed answers within 9 s. SIMCom and
# Quectel manuals give 300 ms for simple queries, so 9 s is safe for all families.
DEFAULT_TIMEOUT = 9000

BASE_TIMEOUTS = {
    # Yuge EC716S manual 1.4 table; SIMCom SIM7600 gives COPS 120 s, Quectel 180 s.
    "+COPS": 300000,
    "+CGACT": 150000,  # Quectel gives 150 s ("determined by network"), Yuge 108 s
    "+CGATT": 108000,
    "+CFUN": 45000,
    "+CMGS": 90000,
    "+CMGW": 90000,
    "+CPBW": 72000,
    "+CPIN": 180000,  # Yuge 1.4: the SIM can take this long to answer PIN entry
    "+CSTT": 60000,
    "+CHCR": 90000,
    "+CIPSHUT": 90000,
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
