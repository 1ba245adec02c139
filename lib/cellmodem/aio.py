"""The asyncio face: the same engine, drivers, sockets, MQTT and HTTP code, awaited.

Whatever waits on the network is awaited: registration, data on a socket, a broker's
answer, an HTTP response and its body. An AT command itself still runs to its final
result in one go (milliseconds at line rate; the loop waits that long), so no await
ever finds the engine in the middle of a command, and cancelling a task is always
safe. While no command runs, one task (started by AsyncModem) reads the UART and
dispatches what arrives - URCs, pushed data - for every socket and client.

Usage:
    import asyncio
    from cellmodem.aio import AsyncModem, AsyncDataSocket
    async def main():
        am = AsyncModem(modem)
        await am.connect(apn="internet")
        s = await am.open_connection("example.com", 80)
        await s.send(b"GET / HTTP/1.0\\r\\nHost: example.com\\r\\n\\r\\n")
        print(await s.read())
        d = AsyncDataSocket(am); await d.connect(("example.com", 5000))  # data mode
    asyncio.run(main())
"""
import asyncio
import errno

from cellmodem.compat import ticks_ms, ticks_diff, ticks_add
from cellmodem.errors import NetworkError
import cellmodem.socket as _socket
from cellmodem.validate import millis

_EAGAIN = errno.EAGAIN


def sleep_ms(ms):
    """asyncio.sleep_ms on MicroPython, asyncio.sleep on CPython."""
    f = getattr(asyncio, "sleep_ms", None)
    return f(ms) if f else asyncio.sleep(ms / 1000)


class AsyncModem:
    """A Modem driven from asyncio.

    poll_ms: how often waiting tasks look at their conditions (5 ms: a 115200-baud
    line delivers about 58 bytes meanwhile), and the reader task at the UART where
    the UART's input cannot wake it (see _read)."""

    def __init__(self, modem, poll_ms=5):
        self.modem = modem
        self.poll_ms = poll_ms
        self._task = None

    def start(self):
        """Start the reader task (connect() does); safe to call again."""
        if self._task is None:
            self._task = asyncio.create_task(self._read())

    def stop(self):
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _read(self):
        at = self.modem.at
        eng = at.engine
        port = at.port
        s = None
        # a read of nothing: the wait for input takes none of it (MicroPython's stream
        # readinto of an empty buffer returns 0 before the driver is asked; public
        # knowledge of MicroPython's py/stream.c, not from our manuals)
        nothing = bytearray(0)
        # MicroPython's asyncio polls a stream (machine.UART; a SerialPort's tty through
        # its .stream) and wakes the task when input comes. CPython's StreamReader reads
        # no port, and an object that is no stream (FakeUART) cannot be polled: there
        # the reader looks every poll_ms.
        if hasattr(asyncio.StreamReader, "readinto"):
            import select
            s = getattr(port, "stream", port)
            try:
                select.poll().register(s, select.POLLIN)
                s = asyncio.StreamReader(s)
            except (OSError, TypeError):  # OSError: "stream operation not supported"
                s = None
        while True:
            at.poll(0)  # no command is ever in flight here: commands do not await
            if s is None or at.port is not port or eng.in_raw:
                # no stream to wait on; or a DataSocket (or a power gate) has the port:
                # its input is not the engine's, so waiting on it would wake for
                # nothing; or a payload is half in: its stall is timed (engine.py)
                await sleep_ms(self.poll_ms)
            else:
                await s.readinto(nothing)  # wakes when input waits; reads none of it

    async def idle(self):
        """One pause of the waiting loops (the reader task runs meanwhile)."""
        await sleep_ms(self.poll_ms)

    async def wait_until(self, cond, timeout_ms, what):
        """Await cond() true; OSError(ETIMEDOUT) after timeout_ms (None: no limit)."""
        deadline = None if timeout_ms is None else ticks_add(ticks_ms(), timeout_ms)
        while not cond():
            if deadline is not None and ticks_diff(deadline, ticks_ms()) <= 0:
                raise OSError(errno.ETIMEDOUT, "no %s within %d ms" % (what, timeout_ms))
            await self.idle()

    async def wait_registered(self, timeout=60000):
        """Await registration (home or roaming); NetworkError if denied or not within
        timeout ms (an int, as everywhere in the Modem layer)."""
        millis(timeout)
        m = self.modem
        deadline = ticks_add(ticks_ms(), timeout)
        while True:
            stat = m.registration()
            if stat in (1, 5):
                return stat
            if stat == 3:
                raise NetworkError("registration denied by the network")
            if ticks_diff(deadline, ticks_ms()) <= 0:
                raise NetworkError("not registered after %d ms" % timeout)
            await sleep_ms(200)

    async def connect(self, apn="", user=None, password=None, timeout=60000, rx_mode=None):
        """Modem.connect(), the wait for registration awaited; returns the local IP.
        timeout: ms (int), as Modem.connect's."""
        millis(timeout)
        self.start()
        await self.wait_registered(timeout)
        return self.modem.connect(apn, user, password, timeout, rx_mode)

    async def disconnect(self):
        self.modem.disconnect()

    def socket(self, type=_socket.SOCK_STREAM):
        return AsyncSocket(self, type)

    async def open_connection(self, host, port, ssl=None, server_hostname=None):
        """A connected TCP AsyncSocket (reads and writes like asyncio's streams);
        ssl as AsyncSocket.connect's."""
        s = AsyncSocket(self)
        await s.connect((host, port), ssl, server_hostname)
        return s


class AsyncSocket:
    """cellmodem.socket.socket, awaited. Methods as asyncio streams and sockets:
    recv, recv_into, read, readexactly, readline, send, sendall, write + drain,
    sendto, recvfrom, close; async with."""

    def __init__(self, amodem, type=_socket.SOCK_STREAM, sock=None):
        self._am = amodem
        self._s = sock or _socket.socket(_socket.AF_INET, type, modem=amodem.modem)
        self._s.setblocking(False)
        self._out = []

    async def connect(self, addr, ssl=None, server_hostname=None):
        """Open the connection (the module's open command runs to its result).
        ssl: an ssl.SSLContext (host TLS: the handshake runs in one go, within 60 s;
        see cellmodem.tls.context) or a cellmodem.tls.ModuleTLS; server_hostname:
        the name checked and sent as SNI (default: addr's host)."""
        s = self._s
        s.settimeout(None)
        ctx = mod = None
        if ssl:
            from cellmodem.tls import choose, wrap
            ctx, mod = choose(ssl)
        try:
            s.connect((self._am.modem.resolve(addr[0]), addr[1]), mod)
            if ctx is not None:
                self._s = s = wrap(s, server_hostname or addr[0], ctx)
        finally:
            s.setblocking(False)

    async def _again(self, fn, *args):
        # fn raises EAGAIN while nothing is there: await and try again
        while True:
            try:
                return fn(*args)
            except OSError as e:
                if e.args[0] != _EAGAIN:
                    raise
            await self._am.idle()

    async def recv(self, n):
        """Up to n bytes as soon as some are there; b"" at EOF."""
        return await self._again(self._s.recv, n)

    async def recv_into(self, buf, nbytes=0):
        return await self._again(self._s.recv_into, buf, nbytes)

    async def recvfrom(self, n):
        return await self._again(self._s.recvfrom, n)

    async def read(self, n=-1):
        """Up to n bytes (n >= 0) as soon as some are there, or everything to EOF."""
        if n >= 0:
            return await self.recv(n)
        parts = []
        while True:
            data = await self.recv(1024)
            if not data:
                return b"".join(parts)
            parts.append(data)

    async def readexactly(self, n):
        """Exactly n bytes; EOFError if the peer closes first."""
        buf = bytearray(n)
        mv = memoryview(buf)
        got = 0
        while got < n:
            k = await self.recv_into(mv[got:])
            if not k:
                raise EOFError("connection closed after %d of %d bytes" % (got, n))
            got += k
        return bytes(buf)

    async def readline(self):
        """Up to and including b"\\n" (or what is left at EOF)."""
        s = self._s
        if not hasattr(s, "line_ready"):  # host TLS: the line comes out of mbedTLS
            parts = []
            while True:
                part = await self._again(s.readline)
                parts.append(part)
                if not part or part[-1:] == b"\n":
                    return b"".join(parts)
        await self._am.wait_until(s.line_ready, None, "line")
        return s.readline() or b""

    async def send(self, data):
        """Send what one module command takes; returns the count."""
        return self._s.send(data)

    async def sendall(self, data):
        self._s.sendall(data)

    async def sendto(self, data, addr):
        return self._s.sendto(data, addr)

    def write(self, data):
        """Queue data for drain() (asyncio.StreamWriter)."""
        self._out.append(bytes(data))

    async def drain(self):
        out, self._out = self._out, []
        for data in out:
            self._s.sendall(data)

    def close(self):
        self._s.close()

    async def wait_closed(self):
        pass

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.close()


class AsyncDataSocket(AsyncSocket):
    """cellmodem.datamode.DataSocket (transparent mode), awaited: the AsyncSocket
    reads and writes, escape() with its guard times awaited, resume(). connect,
    resume and close run their AT commands to the result, as every command in this
    face does. Do not write while escape() runs: data within the guard time after
    "+++" makes it data, and escape() ends with ATTimeout."""

    def __init__(self, amodem, rxbuf=2048, guard_ms=None):
        from cellmodem.datamode import DataSocket
        super().__init__(amodem, sock=DataSocket(amodem.modem, rxbuf, guard_ms))

    async def connect(self, addr):
        """Open in data mode (DataSocket.connect: ValueError, OSError)."""
        self._s.connect(addr)

    async def readline(self):
        """Up to and including b"\n" (or what is left at EOF)."""
        out = bytearray()
        while out[-1:] != b"\n":
            c = await self.recv(1)
            if not c:
                break
            out += c
        return bytes(out)

    @property
    def data_mode(self):
        return self._s.data_mode

    async def escape(self):
        """DataSocket.escape(), the guard times awaited (the loop runs meanwhile)."""
        s = self._s
        while True:
            left = s.escape_quiet(0)
            if left <= 0:
                break
            await sleep_ms(left if left < 20 else 20)
        if not s.data_mode:
            return
        step = s.escape_start()
        try:
            while not s.escape_poll(step, 0):
                await self._am.idle()
        except BaseException:
            # cancelled after "+++" went out: the module is leaving data mode all the
            # same, so finish here - the socket must know which mode it is in
            while not s.escape_poll(step, 20):
                pass
            s.escape_end(step)
            raise
        s.escape_end(step)

    async def resume(self):
        """Back to data mode (ATO)."""
        self._s.resume()


class AsyncMQTTClient:
    """cellmodem.mqtt.MQTTClient, awaited: the same protocol code, with the waits for
    the broker's answers awaited. After connect() a task of its own handles incoming
    packets, the keepalive and reconnects; messages go to set_callback's function, or,
    without one, to `async for topic, msg in client`. Arguments as MQTTClient's."""

    def __init__(self, amodem, client_id, server, port=0, **kw):
        from cellmodem.mqtt import MQTTClient
        self._am = amodem
        self.c = MQTTClient(client_id, server, port, modem=amodem.modem, **kw)
        self._task = None
        self._inbox = []
        self.c.set_callback(self._keep)

    def _keep(self, topic, msg):
        self._inbox.append((topic, msg))

    def set_callback(self, f):
        self.c.set_callback(f)

    def set_last_will(self, topic, msg, retain=False, qos=0):
        self.c.set_last_will(topic, msg, retain, qos)

    def set_status_callback(self, f):
        self.c.set_status_callback(f)

    def isconnected(self):
        return self.c.isconnected()

    async def connect(self, clean_session=True):
        """Connect (runs until the broker's CONNACK); returns session present."""
        self._am.start()
        sp = self.c.connect(clean_session)
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        return sp

    async def _run(self):
        c = self.c
        while True:
            try:
                c.check_msg()  # incoming packets, PINGREQ when due, a reconnect when due
            except OSError:
                pass  # reported through the status callback; the next round retries
            await self._am.idle()

    async def _online(self):
        c = self.c
        if not c.isconnected():
            await self._am.wait_until(c.isconnected, c._retry_for, "reconnect")

    async def publish(self, topic, msg, retain=False, qos=0):
        """Publish; returns when the QoS handshake is done (QoS 0: when sent). Awaits
        a reconnect for up to retry_for ms; OSError after that."""
        await self._online()
        pid = self.c.publish_nowait(topic, msg, retain, qos)
        if pid:
            c = self.c
            await self._am.wait_until(lambda: not c.is_pending(pid),
                                      c._timeout + c._retry_for, "PUBACK")

    async def subscribe(self, topic, qos=0, callback=None):
        """As MQTTClient.subscribe; returns the granted QoS."""
        await self._online()
        c = self.c
        job = c.subscribe_nowait(topic, qos, callback)
        await self._am.wait_until(lambda: c.subscribe_done(job) is not None, c._timeout, "SUBACK")
        return c.subscribe_done(job)

    async def unsubscribe(self, topic):
        await self._online()
        self.c.unsubscribe(topic)

    async def disconnect(self):
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.c.disconnect()

    def __aiter__(self):
        return self

    async def __anext__(self):
        await self._am.wait_until(lambda: self._inbox, None, "message")
        return self._inbox.pop(0)


async def arequest(amodem, method, url, **kw):
    """cellmodem.requests.request, awaited: connecting and sending run as commands;
    the wait for the response and for every piece of its body are awaited. Returns
    an AsyncResponse (status_code, reason, headers, url; await read/readinto/content/
    text/json). Keyword arguments as requests.request's (stream is implied)."""
    from cellmodem.requests import Session
    s = Session(modem=amodem.modem, keep_alive=False, verify=kw.pop("verify", True),
                cert=kw.pop("cert", None), context=kw.pop("context", None))
    r = await s.request_async(amodem, method, url, **kw)
    return AsyncResponse(amodem, r)


class AsyncResponse:
    """A requests Response whose body is awaited piece by piece."""

    def __init__(self, amodem, r):
        self._am = amodem
        self.r = r
        self.status_code = r.status_code
        self.reason = r.reason
        self.headers = r.headers
        self.url = r.url

    async def readinto(self, buf):
        """Next body bytes into buf; 0 at the end. Awaits data as it comes."""
        await self._am.wait_until(self.r.raw.ready, None, "body")
        return self.r.readinto(buf)

    async def read(self):
        parts = []
        buf = bytearray(1024)
        while True:
            n = await self.readinto(buf)
            if not n:
                return b"".join(parts)
            parts.append(bytes(buf[:n]))

    async def text(self):
        return str(await self.read(), "utf-8")

    async def json(self):
        import json
        return json.loads(await self.read())

    def close(self):
        self.r.close()
