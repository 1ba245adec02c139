"""urequests from PyPI, unchanged, over cellmodem.socket (run in MicroPython).

Run: micropython urequests_client.py <tty> <base url> <dialect>
Prints one "name: value" line per request for the test to check.
"""
import sys

from cellmodem.modem import Modem
from cellmodem.ports import open_serial
import cellmodem.socket

sys.modules["usocket"] = cellmodem.socket  # urequests does "import usocket"
sys.modules["socket"] = cellmodem.socket
import urequests  # noqa: E402

tty, base, dialect = sys.argv[1], sys.argv[2], sys.argv[3]
modem = Modem(open_serial(tty), dialect=dialect)
print("IP", modem.connect(apn="internet"))
r = urequests.get(base + "/hello")
print("hello:", r.status_code, r.text.strip())
r.close()
r = urequests.get(base + "/json")
print("json:", r.json()["n"])
r.close()
r = urequests.post(base + "/echo", data=b"\x00posted\xff" * 50,
                   headers={"Content-Type": "application/octet-stream"})
print("post:", r.status_code, r.content == b"\x00posted\xff" * 50)
r.close()
r = urequests.get(base + "/large")
body = r.content
ok = len(body) == 200000
for i in range(0, len(body), 997):  # byte i of /large is i % 251
    if body[i] != i % 251:
        ok = False
print("large:", len(body), ok)
r.close()
r = urequests.get(base + "/status/404")
print("status:", r.status_code)
r.close()
modem.disconnect()
print("UREQUESTS DONE")
