"""SMS out and back while a TCP echo runs, in real MicroPython.

Run: micropython sms_echo.py <tty> <host> <port> <own number>
Sends five texts to the SIM's own number (GSM 7-bit, UCS2 with a character above
U+FFFF and a line break, 160 GSM characters, and two concatenated 3-part texts, GSM
7-bit and UCS2) between echo rounds; the network (the
simulator) delivers each back, announced by +CMTI. Every echo round is checked byte
for byte and every message must come back exactly. Prints "SMS OK <echoed bytes>".
"""
import sys

from cellmodem.modem import Modem
from cellmodem.ports import open_serial
from cellmodem.compat import ticks_ms, ticks_diff
from cellmodem.sms import SMS
import cellmodem.socket as socket

tty, host, port, own = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
TEXTS = ["GSM text: 21.5 C @home (ok?)", "Gr\u00fc\u00dfe \u4e2d\u6587 \U0001F600\nline 2",
         "0123456789" * 16,
         # concatenated, 3 parts each (PDU mode): 400 GSM characters, 150 UCS2 units
         "".join(["part %03d of a long text, " % i for i in range(16)]),
         "\u4e2d\u6587 \U0001F600 " * 30]

modem = Modem(open_serial(tty), sock_rxbuf=2048)
modem.connect(apn="internet")
s = socket.socket()
s.settimeout(20)
s.connect(socket.getaddrinfo(host, port)[0][-1])
sms = SMS(modem)
sms.listen()
out = bytearray(512)
back = bytearray(512)
got = []
echoed = 0
sent = 0
start = ticks_ms()
while len(got) < len(TEXTS) or echoed < 32768:
    if ticks_diff(ticks_ms(), start) > 90000:
        raise SystemExit("TIMEOUT: %d of %d messages back, %d bytes echoed"
                         % (len(got), len(TEXTS), echoed))
    for i in range(512):
        out[i] = (echoed + i * 7) & 255
    s.write(out)
    n = 0
    while n < 512:
        k = s.recv_into(memoryview(back)[n:], 512 - n)
        if not k:
            raise SystemExit("EOF after %d bytes" % (echoed + n))
        n += k
    if back != out:
        raise SystemExit("MISMATCH in the round at byte %d" % echoed)
    echoed += 512
    if sent < len(TEXTS) and echoed % 4096 == 0:
        sms.send(own, TEXTS[sent])
        sent += 1
    m = sms.receive()
    if m is not None:
        if m.sender != own:
            raise SystemExit("SENDER %r" % m.sender)
        got.append(m.text)
s.close()
if sorted(got) != sorted(TEXTS):
    raise SystemExit("TEXTS %r" % got)
print("SMS OK", echoed)
