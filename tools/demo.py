"""The README's main command (`make demo`): the modem simulator on a pty, an echo
server on loopback, and examples/hello_modem.py running in real MicroPython against
them, printing the AT conversation and the result. Everything it starts, it stops.

Usage: python -m tools.demo [--dialect sim7080] [--baud 115200]
"""
import argparse
import os
import socket
import subprocess
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lib"))

from tools.modemsim import get_personality  # noqa: E402


def echo_server():
    """A TCP echo server on 127.0.0.1; returns (port, stop)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                c, _ = srv.accept()
            except OSError:
                continue
            with c:
                c.settimeout(5)
                try:
                    while True:
                        data = c.recv(4096)
                        if not data:
                            break
                        c.sendall(data)
                except OSError:
                    pass
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1], stop


def micropython():
    path = os.path.join(os.path.dirname(sys.executable), "micropython")
    if not os.path.exists(path):
        sys.exit("micropython is not installed: run `make demo`, which installs it")
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dialect", default="sim7080", help="simulator personality (the example uses sim7080's AT+CA* commands)")
    ap.add_argument("--baud", type=int, default=None, help="pace the simulated UART (default: unpaced)")
    args = ap.parse_args()
    port, stop = echo_server()
    sim = get_personality(args.dialect)(seed=1, hosts={"echo.example": "127.0.0.1"}, baud=args.baud)
    pty = sim.open_pty()
    print("simulated %s on %s; echo server on 127.0.0.1:%d" % (args.dialect, pty, port))
    print("running examples/hello_modem.py in", micropython())
    try:
        env = dict(os.environ, MICROPYPATH=os.path.join(ROOT, "lib"))
        rc = subprocess.run([micropython(), os.path.join(ROOT, "examples", "hello_modem.py"), pty,
                             "echo.example", str(port)], env=env, timeout=120).returncode
    finally:
        sim.close()
        stop.set()
    sys.exit(rc)


if __name__ == "__main__":
    main()
