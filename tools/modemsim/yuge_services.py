"""Yuge EC716S: the module's file system (manual ch.8, AT+FS*) and network time (ch.7,
AT+CNTP, with AT+CCLK of 3.10). A mixin the yuge personality inherits through YugeFTP
(tools/modemsim/yuge_ftp.py), which stores FTP downloads in this file system.

Source: /work/shared/manuals/yuge-ec716s-cat1-at-manual-zh.txt, cited "manual 8.x".

File system: in memory, drive C: (the module's flash) and D: (an SD card, option
`sd_card`). "/x", "x" and "C:/x" are the same file (8.6 note). It lives on the simulator
object and survives reboots, as flash does. Entries keep their creation order, which
is the order AT+FSLS lists them in (8.12 shows `testdir\\` before `test.txt`).
Directories are listed with a trailing backslash (8.6 note).

NTP: AT+CNTP runs a REAL SNTP exchange (RFC 4330 client, one UDP datagram) with the
server given in AT+CNTP=<server>, through the simulator's hosts table (loopback only,
never real DNS), to port `ntp_port` (123 needs root; tests run a responder on a free
port). The answer sets the module's clock, which AT+CCLK? prints in local time with
the AT+CNTP time zone in quarter hours (7.1 example: "18/05/16,15:49:28+32").

Manual points decided here (the manual is silent or inconsistent):
  * AT+FSWRITE <mode> 0 "从文件的开头开始写文件" writes from the start: the file is
    replaced by the new bytes (SIM800 family). The file must exist (AT+FSCREATE
    first, as 8.12 does); AT+FSCREATE of an existing file is OK and empties it (the
    13.14 examples create ca.crt twice and get OK both times).
  * AT+FSREADHEAD=1 adds "+FSREAD: <len>" before the data (8.3 names the header, not
    its form; the length is what makes binary data readable).
  * AT+FSRMDIR of a directory that is not empty is ERROR.
  * AT+FSMEM prints `+FSMEM: <free> bytes` as the 8.12 example does.
  * `+CNTP:1` without a space (7.1 example; option `cntp_space`).

Options (merged into the personality's defaults):
  sd_card     True: drive D: exists (8.12's second half). False: D: paths are ERROR.
  fs_size     1304010: bytes of the C: drive (8.12 prints 1304000 free after its
              10-byte file; so the replay matches). D: has 8 MiB.
  ntp_port    123: UDP port AT+CNTP sends to.
  cntp_space  False: `+CNTP:1` (7.1 example). True: `+CNTP: 1` (7.1 syntax table).
"""
import calendar
import socket
import struct
import threading
import time

from .core import ModemSim, NetError, command

SERVICE_DEFAULTS = {
    "sd_card": True,
    "fs_size": 1304010,
    "ntp_port": 123,
    "cntp_space": False,
}

MAX_NAME = 64  # 8.1-8.11: names "不超过 64 个字节"
MAX_IO = 10240  # 8.2 / 8.4: <filesize> "不能大于 10240 个字节"
SD_SIZE = 8 << 20
NTP_EPOCH = 2208988800  # seconds from 1900-01-01 to 1970-01-01
# 7.1 <code>
NTP_OK, NTP_NET, NTP_DNS, NTP_CONNECT, NTP_REPLY, NTP_TIMEOUT = 1, 61, 62, 63, 64, 65


class FSError(Exception):
    pass


class FileSystem:
    """The module's drives: entries path -> None (directory) or bytearray (file)."""

    def __init__(self, sizes):
        self.sizes = dict(sizes)  # drive letter -> capacity in bytes
        self.entries = {}

    def norm(self, path):
        """'/a/b', 'C:/a/b', 'c:\\\\a\\\\b' -> 'C:/a/b'; the root is 'C:/'. FSError if bad."""
        p = path.replace("\\", "/").strip()
        drive = "C"
        if len(p) >= 2 and p[1] == ":":
            drive, p = p[0].upper(), p[2:]
        if drive not in self.sizes:
            raise FSError(path)
        parts = [x for x in p.split("/") if x]
        if any(x in (".", "..") for x in parts):
            raise FSError(path)
        return drive + ":/" + "/".join(parts)

    def parent(self, key):
        head, _, tail = key.rpartition("/")
        return head if not head.endswith(":") else head + "/"

    def is_dir(self, key):
        return key.endswith(":/") or (key in self.entries and self.entries[key] is None)

    def is_file(self, key):
        return isinstance(self.entries.get(key), bytearray)

    def used(self, drive):
        return sum(len(v) for k, v in self.entries.items() if v is not None and k[0] == drive)

    def free(self, drive):
        return self.sizes[drive] - self.used(drive)

    def children(self, key):
        pre = key if key.endswith("/") else key + "/"
        out = []
        for k, v in self.entries.items():
            if k.startswith(pre) and "/" not in k[len(pre):]:
                out.append(k[len(pre):] + ("\\" if v is None else ""))
        return out

    def create(self, key, dir=False):
        if not dir and self.is_file(key):
            # 13.14: the examples create ca.crt twice in one session and get OK
            # both times; the file starts again empty
            del self.entries[key][:]
            return
        if key in self.entries or key.endswith(":/") or not self.is_dir(self.parent(key)):
            raise FSError(key)
        self.entries[key] = None if dir else bytearray()

    def remove(self, key, dir=False):
        if dir != self.is_dir(key) or key.endswith(":/") or key not in self.entries:
            raise FSError(key)
        if dir and self.children(key):
            raise FSError(key)
        del self.entries[key]

    def write(self, key, data, append):
        """Replace (append=False) or extend the file; FSError if missing or full."""
        f = self.entries.get(key)
        if not isinstance(f, bytearray):
            raise FSError(key)
        grow = len(data) if append else len(data) - len(f)
        if grow > self.free(key[0]):
            raise FSError("full")
        if not append:
            del f[:]
        f += data

    def put(self, key, data):
        """Create or replace a file whole (FTP downloads); makes its parents."""
        parts = key.split("/")
        for i in range(2, len(parts)):
            d = "/".join(parts[:i])
            if d not in self.entries:
                self.entries[d] = None
        old = self.entries.get(key)
        if old is None and key in self.entries:
            raise FSError(key)
        if len(data) - (len(old) if old else 0) > self.free(key[0]):
            raise FSError("full")
        self.entries[key] = bytearray(data)


class YugeServices(ModemSim):
    """AT+FS* (manual ch.8), AT+CNTP / AT+CNTPCID (ch.7) and AT+CCLK (3.10)."""

    defaults = dict(SERVICE_DEFAULTS)

    def __init_subclass__(cls, **kw):
        # as YugeHTTP does: our options beneath whatever the subclass declares
        super().__init_subclass__(**kw)
        merged = dict(SERVICE_DEFAULTS)
        merged.update(cls.defaults)
        cls.defaults = merged

    def reset_state(self):
        super().reset_state()
        if not hasattr(self, "fs"):  # flash: survives reboots
            sizes = {"C": int(self.opts["fs_size"])}
            if self.opts["sd_card"]:
                sizes["D"] = SD_SIZE
            self.fs = FileSystem(sizes)
            # 12.18 / 12.20: where FTPEXTGET=2 and FTPGETTOFS store their files
            self.fs.entries["C:/USER"] = None
            self.fs.entries["C:/USER/FTP"] = None
            if "D" in sizes:
                self.fs.entries["D:/FTP"] = None
            self.clock_base = 0.0  # module clock - host clock, seconds
            self.clock_tz = 0  # quarter hours
        self.fsreadhead = 0
        self.cntp = {"server": "", "tz": 0, "timeout": 5}
        self.cntp_cid = 1
        self.cntp_token = 0

    # ---------------------------------------------------------------- ch.8 file system
    def _fs_key(self, c, i=0):
        name = c.str(i)
        if not name or len(name) > MAX_NAME:
            raise FSError(name)
        return self.fs.norm(name)

    def _fs_do(self, c, fn):
        """Run fn() for a set command; ERROR (8.x "OK 或 ERROR") on any failure."""
        if c.kind == "test":
            return self.ok()
        if c.kind != "set":
            return self.error()
        try:
            fn()
        except (FSError, ValueError, IndexError):
            return self.error()
        self.ok()

    @command("+FSCREATE")
    def at_fscreate(self, c):
        self._fs_do(c, lambda: self.fs.create(self._fs_key(c)))

    @command("+FSMKDIR")
    def at_fsmkdir(self, c):
        self._fs_do(c, lambda: self.fs.create(self._fs_key(c), dir=True))

    @command("+FSRMDIR")
    def at_fsrmdir(self, c):
        self._fs_do(c, lambda: self.fs.remove(self._fs_key(c), dir=True))

    @command("+FSDEL")
    def at_fsdel(self, c):
        self._fs_do(c, lambda: self.fs.remove(self._fs_key(c)))

    @command("+FSREADHEAD")
    def at_fsreadhead(self, c):
        if c.kind == "test":
            return self.answer("+FSREADHEAD: (0,1)")
        if c.kind == "read":
            return self.answer("+FSREADHEAD: %d" % self.fsreadhead)
        if c.kind != "set" or c.int(0) not in (0, 1):
            return self.error()
        self.fsreadhead = c.int(0)
        self.ok()

    @command("+FSREAD")
    def at_fsread(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "set":
            return self.error()
        try:
            key = self._fs_key(c)
        except FSError:
            return self.error()
        mode, size, pos = c.int(1), c.int(2), c.int(3, 0)
        f = self.fs.entries.get(key)
        if not isinstance(f, bytearray) or mode not in (0, 1) or not 1 <= size <= MAX_IO:
            return self.error()
        if mode == 0:
            pos = 0
        elif not 0 <= pos < len(f):  # 8.2: "该取值应小于文件的大小"
            return self.error()
        data = bytes(f[pos:pos + size])
        head = b"+FSREAD: %d\r\n" % len(data) if self.fsreadhead else b""
        # header and data in one write: a URC never lands inside the data
        self.raw(b"\r\n" + head + data)
        self.ok()

    @command("+FSWRITE")
    def at_fswrite(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "set":
            return self.error()
        try:
            key = self._fs_key(c)
        except FSError:
            return self.error()
        mode, size, secs = c.int(1), c.int(2), c.int(3)
        if not self.fs.is_file(key) or mode not in (0, 1) or not 1 <= size <= MAX_IO \
                or not 1 <= secs <= 4294967295:
            return self.error()

        def done(data, reason):
            if reason != "len":
                return self.final("TimeOut")  # 8.4: input took longer than <inputtime>
            try:
                self.fs.write(key, data, append=mode == 1)
            except FSError:
                return self.error()
            self.ok()
        # 8.4 / 8.12: ">" with no space after it (">1234567890" in the example)
        self.collect(done, n=size, prompt=b"\r\n>", timeout_ms=secs * 1000)

    @command("+FSDRIVE")
    def at_fsdrive(self, c):
        if c.kind == "test":
            return self.ok()
        n = c.int(0) if c.kind == "set" else -1
        if n not in (0, 1) or (n == 1 and "D" not in self.fs.sizes):
            return self.error()
        self.answer("+FSDRIVE: %s" % "CD"[n])

    @command("+FSLS")
    def at_fsls(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "set":
            return self.error()
        try:
            key = self._fs_key(c)
        except FSError:
            return self.error()
        if not self.fs.is_dir(key):
            return self.error()
        self.answer(*self.fs.children(key))

    @command("+FSMEM")
    def at_fsmem(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "exec":
            return self.error()
        self.answer("+FSMEM: %d bytes" % self.fs.free("C"))

    @command("+FSFSIZE", "+FSFLSIZE")  # 8.11 heading / table of contents spelling
    def at_fsfsize(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "set":
            return self.error()
        try:
            key = self._fs_key(c)
        except FSError:
            return self.error()
        if not self.fs.is_file(key):
            return self.error()
        self.answer("+FSFSIZE: %d" % len(self.fs.entries[key]))

    # ---------------------------------------------------------------- 3.10 CCLK
    def module_time(self):
        """The module clock as a UTC timestamp."""
        return time.time() + self.clock_base

    @command("+CCLK")
    def at_cclk(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind == "read":
            t = time.gmtime(self.module_time() + self.clock_tz * 900)
            return self.answer('+CCLK: "%02d/%02d/%02d,%02d:%02d:%02d%+03d"'
                               % (t.tm_year % 100, t.tm_mon, t.tm_mday, t.tm_hour,
                                  t.tm_min, t.tm_sec, self.clock_tz))
        if c.kind != "set":
            return self.error()
        s = c.str(0)  # "yy/MM/dd,hh:mm:ss±zz"
        try:
            tz = int(s[17:])
            if len(s) < 20 or not -47 <= tz <= 48:
                raise ValueError(s)
            local = calendar.timegm(time.strptime(s[:17], "%y/%m/%d,%H:%M:%S"))
        except ValueError:
            return self.error()
        self.clock_tz = tz
        self.clock_base = local - tz * 900 - time.time()
        self.ok()

    # ---------------------------------------------------------------- ch.7 NTP
    @command("+CNTPCID")
    def at_cntpcid(self, c):
        # 7.1 example: AT+CNTPCID=1 names the bearer (SAPBR <cid> 1-3)
        if c.kind == "test":
            return self.answer("+CNTPCID: (1-3)")
        if c.kind == "read":
            return self.answer("+CNTPCID: %d" % self.cntp_cid)
        if c.kind != "set" or c.int(0) not in (1, 2, 3):
            return self.error()
        self.cntp_cid = c.int(0)
        self.ok()

    def _cntp_urc(self, code):
        self.urc("+CNTP:%s%d" % (" " if self.opts["cntp_space"] else "", code))

    @command("+CNTP")
    def at_cntp(self, c):
        p = self.cntp
        if c.kind == "test":
            return self.ok()
        if c.kind == "read":
            return self.answer('+CNTP: "%s",%d,%d' % (p["server"], p["tz"], p["timeout"]))
        if c.kind == "set":
            server, tz = c.str(0), c.int(1, 0)
            if not server or len(server) > 255 or not -47 <= tz <= 48:
                return self.error()
            p.update(server=server, tz=tz)
            return self.ok()
        if c.kind != "exec" or not p["server"]:
            return self.error()
        self.ok()
        self.cntp_token += 1
        token = self.cntp_token
        bearer = getattr(self, "bearer_ip", None)
        up = bearer(self.cntp_cid) if bearer else (self.contexts.get(self.cntp_cid)
                                                    or self.registered)
        if not up:
            return self.after(1, self._ntp_done, token, NTP_NET, None)
        try:
            ip = self.net.resolve(p["server"])
        except NetError as e:
            return self.after(1, self._ntp_done, token,
                              NTP_DNS if e.kind == "resolve" else NTP_CONNECT, None)
        threading.Thread(target=self._ntp_worker, daemon=True, name="modemsim-ntp",
                         args=(token, ip, int(self.opts["ntp_port"]), p["timeout"])).start()

    def _ntp_worker(self, token, ip, port, timeout):
        code, when = NTP_TIMEOUT, None
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        try:
            s.connect((ip, port))
            # RFC 4330: LI 0, version 4, mode 3 (client); the rest zero
            s.send(b"\x23" + b"\x00" * 47)
            reply = s.recv(512)
            # a server reply (mode 4) with a transmit time; anything else: 64
            if len(reply) >= 48 and reply[0] & 7 == 4:
                secs, frac = struct.unpack("!II", reply[40:48])
                if secs:
                    code, when = NTP_OK, secs - NTP_EPOCH + frac / 2.0 ** 32
                else:
                    code = NTP_REPLY
            else:
                code = NTP_REPLY
        except socket.timeout:
            code = NTP_TIMEOUT
        except OSError:
            code = NTP_CONNECT  # e.g. ICMP port unreachable: connection refused
        finally:
            s.close()
        with self.lock:
            if not self.closed:
                self._ntp_done(token, code, when)

    def _ntp_done(self, token, code, when):
        if token != self.cntp_token or not self.powered:
            return
        if code == NTP_OK:
            self.clock_base = when - time.time()
            self.clock_tz = self.cntp["tz"]
        self._cntp_urc(code)
