"""The board files with pins (esp32_generic, rp2_pico, lilygo_t_sim7080g_s3,
lilygo_t_a7670) and their shared _board module, run in real MicroPython against
the simulator on a pty.

machine is host_tests/fakemachine/machine.py: UART() opens the pty, every pin the
board drives is printed with its time. The test plays the module's wires from those
lines: a PWRKEY press at least as long as the module's documented minimum switches
the simulated module on (or off, when it runs), STATUS follows, a RESET pulse reboots
it, the LilyGO S3's DC3 rail cuts it. So a board that presses too briefly, the wrong
pin or with the wrong level gets no modem. The board waits after each pin change until
the test has reacted (lock-step, whatever the machine's speed); press lengths are
checked from below only (the board's own clock, never an upper bound).
"""
import os
import subprocess
import threading

import pytest

from mpy import BOARDS, LIB, ROOT, tool
from tools.modemsim import get_personality

FAKE = os.path.join(ROOT, "host_tests", "fakemachine")
# The modules' minimum press lengths in ms (power on, power off, reset), from their
# hardware design documents as publicly known (not in ../shared/manuals): SIM7080G
# PWRKEY >= 1 s on, >= 1.2 s off; A7670 >= 50 ms on; SIM7600 >= 100 ms on;
# BG96 >= 500 ms on, >= 650 ms off, RESET_N >= 150 ms.
MINIMUM = {"sim7080": (1000, 1200, None), "a7670": (50, 2500, None),
           "sim7600": (100, 2500, None), "quectel": (500, 650, 150)}


class Wires:
    """Runs a script in micropython with the fake machine and answers its pins."""

    def __init__(self, tmp_path, personality, module, pwrkey, reset=None, status=None,
                 powered=False):
        self.sim = get_personality(personality)(seed=5)
        self.pty = self.sim.open_pty()
        self.dir = str(tmp_path)
        self.module, self.pwrkey, self.reset, self.status = module, pwrkey, reset, status
        self.events, self.output, self.presses = [], [], []
        self.levels = {}
        with self.sim.lock:
            if not powered:
                self.sim.power_off()
        self.set_status(powered)

    def set_status(self, on):
        if self.status is not None:
            with open(os.path.join(self.dir, "pin%d" % self.status), "w") as f:
                f.write("1" if on else "0")

    def power(self, on):
        with self.sim.lock:
            if on:
                self.sim.power_on()
            else:
                self.sim.power_off()
        self.set_status(on)

    def on_pin(self, pin, level, ms):
        before = self.levels.get(pin)
        self.levels[pin] = (level, ms)
        if before is None or before[0] == level:
            return
        if pin not in (self.pwrkey[0], self.reset and self.reset[0]):
            return
        name, active = ("pwrkey", self.pwrkey[1]) if pin == self.pwrkey[0] else ("reset", self.reset[1])
        if level == active:
            return  # pressed: the release decides
        held = ms - before[1]
        self.presses.append((name, held))
        on_ms, off_ms, reset_ms = MINIMUM[self.module]
        if name == "reset":
            if held >= reset_ms:
                with self.sim.lock:
                    self.sim.reboot()
        elif not self.sim.powered and held >= on_ms:
            self.power(True)
        elif self.sim.powered and held >= off_ms:
            self.power(False)

    def on_i2c(self, addr, reg, value):
        if (addr, reg) == (0x34, 0x80) and not value & 4 and self.sim.powered:
            self.power(False)  # the LilyGO S3's DC3 rail: the module's supply

    def run(self, board, script, timeout=90):
        path = os.path.join(self.dir, "script.py")
        with open(path, "w") as f:
            f.write("import %s as board\n" % board + script)
        env = dict(os.environ, MICROPYPATH=":".join([FAKE, BOARDS, LIB, ".frozen"]),
                   FAKEMACHINE_TTY=self.pty, FAKEMACHINE_DIR=self.dir)
        proc = subprocess.Popen([tool("micropython"), path], env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

        def read():
            for line in proc.stdout:
                words = line.split()
                if words[:1] != ["MACHINE"]:
                    self.output.append(line)
                    continue
                self.events.append(tuple(words[1:]))
                if words[1] == "pin":
                    self.on_pin(int(words[2]), int(words[3]), int(words[4]))
                elif words[1] == "i2c":
                    self.on_i2c(int(words[2]), int(words[3]), int(words[4]))
                else:
                    continue
                try:  # the module has reacted: the board goes on
                    proc.stdin.write("\n")
                    proc.stdin.flush()
                except OSError:
                    pass
        t = threading.Thread(target=read, daemon=True)
        t.start()
        try:
            proc.wait(timeout)
        finally:
            proc.kill()
            t.join(5)
            self.sim.close()
        self.rc = proc.returncode
        return "".join(self.output)

    def first(self, kind):
        return next(e[1:] for e in self.events if e[0] == kind)

    def made(self, pin):
        """The level a pin was first driven to."""
        return next(int(e[2]) for e in self.events if e[0] == "pin" and e[1] == str(pin))


MODEM = """
m = board.modem()
print("IMEI", m.imei())
"""

# board file, its keywords, simulator personality, module (MINIMUM), UART (id, tx, rx),
# PWRKEY (pin, active level), STATUS pin, pins held high, DTR
BOARDS_WIRED = [
    ("esp32_generic", "", "sim7080", "sim7080", ("1", "17", "16"), (4, 1), None, (), None),
    ("rp2_pico", "", "sim7080", "sim7080", ("0", "0", "1"), (14, 1), None, (), None),
    ("lilygo_t_sim7080g_s3", "", "sim7080", "sim7080", ("1", "5", "4"), (41, 1), None, (), 42),
    ("lilygo_t_a7670", "", "sim7600", "a7670", ("1", "26", "27"), (4, 1), None, (12,), 25),
    ("lilygo_t_a7670", "variant='sim7600'", "sim7600", "sim7600", ("1", "27", "26"), (4, 1), 34,
     (25,), 32),
]


@pytest.mark.parametrize("board,kw,personality,module,uart,pwrkey,status,hold,dtr", BOARDS_WIRED,
                         ids=[b[0] + ("-" + b[1].split("'")[1] if b[1] else "") for b in BOARDS_WIRED])
def test_board_file_presses_pwrkey_to_power_a_silent_module_on(tmp_path, board, kw, personality,
                                                               module, uart, pwrkey, status, hold,
                                                               dtr):
    w = Wires(tmp_path, personality, module, pwrkey, status=status)
    out = w.run(board, MODEM.replace("modem()", "modem(%s)" % kw))
    assert w.rc == 0, out
    assert "IMEI %s" % w.sim.imei in out, out
    assert w.first("uart") == (uart[0], "115200", uart[1], uart[2]), w.events
    assert w.made(pwrkey[0]) == 1 - pwrkey[1]  # released from the start
    for pin in hold:
        assert w.made(pin) == 1, (pin, w.events)
    if dtr is not None:
        assert w.made(dtr) == 0, w.events  # DTR low: the module stays awake
    if status is not None:
        assert ("input", str(status)) in w.events
    assert [p[0] for p in w.presses] == ["pwrkey"], w.presses  # once, and only PWRKEY
    assert w.presses[0][1] >= MINIMUM[module][0], w.presses


def test_a_running_module_is_not_pressed(tmp_path):
    """PWRKEY toggles: a press on a running module would switch it off."""
    w = Wires(tmp_path, "sim7080", "sim7080", (4, 1), powered=True)
    out = w.run("esp32_generic", MODEM + "print('on', board.power_on())\n")
    assert w.rc == 0, out
    assert "IMEI %s" % w.sim.imei in out and "on True" in out, out
    assert w.presses == [] and w.sim.powered


CYCLE = """
m = board.modem(module="quectel", status=35, reset=5)
print("IMEI", m.imei())
board.power_off()
print("off", board.answers(100))
print("on", board.power_on())
print("reset", board.reset())
m.sync()
print("IMEI", m.imei())
"""


def test_power_off_on_and_reset_with_status_and_reset_pins(tmp_path):
    w = Wires(tmp_path, "quectel", "quectel", (4, 1), reset=(5, 1), status=35, powered=True)
    out = w.run("esp32_generic", CYCLE)
    assert w.rc == 0, out
    assert out.count("IMEI %s" % w.sim.imei) == 2, out
    assert "off False" in out and "on True" in out and "reset True" in out, out
    assert [p[0] for p in w.presses] == ["pwrkey", "pwrkey", "reset"], w.presses
    off, on, reset = (p[1] for p in w.presses)
    assert off >= 650 and on >= 500 and reset >= 150, w.presses
    assert w.made(5) == 0  # RESET released from the start


def test_lilygo_s3_switches_the_pmu_rails_on_before_pwrkey_and_resets_by_cutting_dc3(tmp_path):
    w = Wires(tmp_path, "sim7080", "sim7080", (41, 1))
    out = w.run("lilygo_t_sim7080g_s3", MODEM + "print('reset', board.reset())\n"
                "m.sync()\nprint('IMEI', m.imei())\n")
    assert w.rc == 0, out
    assert out.count("IMEI %s" % w.sim.imei) == 2 and "reset True" in out, out
    assert w.first("i2cbus") == ("0", "15", "7", "400000")
    order = [e for e in w.events if e[0] == "i2c" or (e[0] == "pin" and e[1] == "41")]
    first_press = next(i for i, e in enumerate(order) if e[0] == "pin" and e[2] == "1")
    regs = {}
    for e in order[:first_press]:
        if e[0] == "i2c":
            regs[int(e[2])] = int(e[3])
    assert regs[0x84] == 88 + 14  # DC3 3.0 V
    assert regs[0x80] & 4  # DC3 on
    assert regs[0x96] == 28 and regs[0x90] & 0x10  # BLDO1 3.3 V on (level shifter)
    # reset(): DC3 off, on again, then PWRKEY: two presses in all
    assert [p[0] for p in w.presses] == ["pwrkey", "pwrkey"], w.presses
    assert all(p[1] >= 1000 for p in w.presses), w.presses


def test_a_module_that_never_answers_is_a_modemerror_naming_the_press(tmp_path):
    w = Wires(tmp_path, "quectel", "quectel", (4, 1))
    w.pwrkey = (99, 1)  # the module is wired elsewhere: the press reaches nothing
    out = w.run("esp32_generic", "import _board\n_board.TIMING['quectel'] = (500, 650, 300, 1000, 0)\n"
                "try:\n    board.modem(module='quectel')\nexcept Exception as e:\n"
                "    print(type(e).__name__, e)\n")
    assert w.rc == 0, out
    assert "ModemError no answer to AT after pressing PWRKEY for 500 ms" in out, out
    assert "pins in board.py" in out, out


def test_rp2_pico_refuses_pins_its_uart_cannot_reach(tmp_path):
    w = Wires(tmp_path, "sim7080", "sim7080", (14, 1), powered=True)
    out = w.run("rp2_pico", "try:\n    board.setup(uart_id=1)\nexcept ValueError as e:\n"
                "    print('ValueError', e)\nboard.setup(uart_id=1, tx=4, rx=5)\nprint('ok')\n")
    assert w.rc == 0, out
    assert "ValueError UART1 has TX on GP4/8/20/24 and RX on GP5/9/21/25 only (got tx=0 rx=1)" \
        in out, out
    assert out.rstrip().endswith("ok") and w.first("uart") == ("1", "115200", "4", "5"), out
