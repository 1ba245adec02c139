"""The README's main command (`make demo`), in two parts, each in real MicroPython
against the modem simulator on a pty, through the unix board file (boards/unix.py as
board.py, as on a PC):
1. examples/hello_modem.py: bring-up and a TCP echo through a loopback echo server,
   printing the AT conversation and whether the bytes came back intact;
2. examples/mqtt_sensor.py against Debian's mosquitto on a free loopback port, with a
   paho-mqtt peer that prints what the sensor publishes, sends it commands, and, half
   way, has the simulator drop the network so the sensor shows its reconnect.
Everything it starts, it stops.

Usage: python -m tools.demo [--dialect sim7080] [--baud 115200] [--no-mqtt]
"""
import argparse
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

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


def board_path(tmp):
    """MICROPYPATH for the examples: lib/ and a directory holding boards/unix.py as
    board.py (what tools.deploy --board unix lays out), whose modem() opens the pty
    given first on the example's command line."""
    shutil.copy(os.path.join(ROOT, "boards", "unix.py"), os.path.join(tmp, "board.py"))
    return os.path.join(ROOT, "lib") + ":" + tmp


def micropython():
    path = os.path.join(os.path.dirname(sys.executable), "micropython")
    if not os.path.exists(path):
        sys.exit("micropython is not installed: run `make demo`, which installs it")
    return path


def mosquitto():
    """Debian's mosquitto on a free loopback port; returns (port, stop)."""
    exe = "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else shutil.which("mosquitto")
    if not exe:
        sys.exit("mosquitto is not installed: run `make demo`, which installs it")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    d = tempfile.mkdtemp(prefix="cellmodem-demo-")
    conf = os.path.join(d, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write("listener %d 127.0.0.1\nallow_anonymous true\n" % port)
    proc = subprocess.Popen([exe, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)

    def stop():
        proc.kill()
        proc.wait(5)
        shutil.rmtree(d, ignore_errors=True)
    return port, stop


def mqtt_part(args):
    import paho.mqtt.client as paho
    port, stop_broker = mosquitto()
    sim = get_personality(args.dialect)(seed=1, hosts={"broker.example": "127.0.0.1"},
                                       baud=args.baud, reg_delay_ms=300)
    pty = sim.open_pty()
    got = queue.Queue()
    peer = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="demo-peer")
    peer.on_message = lambda c, u, m: got.put((m.topic, m.payload))
    peer.connect("127.0.0.1", port)
    peer.subscribe("sensor1/#", 1)
    peer.loop_start()
    print("\n== MQTT: examples/mqtt_sensor.py, mosquitto on 127.0.0.1:%d, simulated %s on %s"
          % (port, args.dialect, pty))
    env = dict(os.environ, MICROPYPATH=args.path)
    proc = subprocess.Popen([micropython(), os.path.join(ROOT, "examples", "mqtt_sensor.py"), pty,
                             "broker.example", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)

    def relay():  # the sensor's lines, whole, among the peer's (one writer per line)
        for line in proc.stdout:
            print(line, end="", flush=True)
    relayer = threading.Thread(target=relay, daemon=True)
    relayer.start()
    try:
        dropped = pinged = False
        deadline = time.monotonic() + 90
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                topic, payload = got.get(timeout=0.5)
            except queue.Empty:
                continue
            print("  peer got %s %r" % (topic, payload), flush=True)
            if topic == "sensor1/status" and payload == b"online" and not dropped:
                peer.publish("sensor1/cmd", b"period 1", qos=1)
            if topic == "sensor1/reading" and b'"n": 3,' in payload and not dropped:
                dropped = True
                print("  demo: the network drops now (the simulator's PDP context goes away)")
                sim.network_drop()
            if topic == "sensor1/reading" and b'"n": 6,' in payload and not pinged:
                pinged = True
                peer.publish("sensor1/cmd", b"ping", qos=1)
            if topic == "sensor1/status" and payload == b"pong":
                peer.publish("sensor1/cmd", b"stop", qos=1)
        rc = proc.wait(30)
        relayer.join(5)
    finally:
        proc.kill()
        peer.loop_stop()
        peer.disconnect()
        sim.close()
        stop_broker()
    return rc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dialect", default="sim7080", help="simulator personality (the example uses sim7080's AT+CA* commands)")
    ap.add_argument("--baud", type=int, default=None, help="pace the simulated UART (default: unpaced)")
    ap.add_argument("--no-mqtt", action="store_true", help="only the first part (hello_modem.py)")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="cellmodem-demo-board-")
    args.path = board_path(tmp)
    port, stop = echo_server()
    sim = get_personality(args.dialect)(seed=1, hosts={"echo.example": "127.0.0.1"}, baud=args.baud)
    pty = sim.open_pty()
    print("simulated %s on %s; echo server on 127.0.0.1:%d" % (args.dialect, pty, port))
    print("running examples/hello_modem.py in %s, board file boards/unix.py" % micropython())
    try:
        env = dict(os.environ, MICROPYPATH=args.path)
        rc = subprocess.run([micropython(), os.path.join(ROOT, "examples", "hello_modem.py"), pty,
                             "echo.example", str(port)], env=env, timeout=120).returncode
    finally:
        sim.close()
        stop.set()
    try:
        if rc == 0 and not args.no_mqtt:
            rc = mqtt_part(args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(rc)


if __name__ == "__main__":
    main()
