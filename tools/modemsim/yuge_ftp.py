"""Yuge EC716S native FTP (manual ch.12, AT+FTP*). A mixin the yuge personality
inherits (tools/modemsim/yuge.py); it builds on YugeServices, whose in-memory file
system holds what AT+FTPGETTOFS / AT+FTPEXTGET=2 store and AT+FTPPUTFRMFS sends.

Source: /work/shared/manuals/yuge-ec716s-cat1-at-manual-zh.txt, cited "manual 12.x".
Every session is a REAL FTP exchange: Python's ftplib, passive mode, against a server
on 127.0.0.0/8 only (AT+FTPSERV goes through the simulator's hosts table, never real
DNS). The exchange runs in a worker thread; its results come back under the simulator
lock as the URCs of 12.14-12.27, as on the module. One session at a time (12.29: the
FTPLIST session has to end before the next one starts); a second one is refused with
+CME ERROR 3 (operation not allowed).

How the module's behaviour is modelled (the manual leaves these open):
  * AT+FTPGET=1: "+FTPGET: 1,1" when data is there to read and the host had read
    everything before (again after each time the buffer ran empty); "+FTPGET: 1,0"
    once the server finished AND the host read the last byte; "+FTPGET: 1,<error>"
    on failure. The module buffers `ftp_rx_buffer` bytes; the server waits meanwhile
    (TCP flow control). AT+FTPGET=2,<n> answers "+FTPGET: 2,<k>", the k bytes, OK
    (k may be 0). AT+FTPLIST and AT+FTPEXTGET=4 work the same way.
  * AT+FTPPUT=1: "+FTPPUT: 1,1,1360" once the data connection is open (12.29: 1360);
    AT+FTPPUT=2,<n> answers "+FTPPUT: 2,<n>", takes n bytes, OK; AT+FTPPUT=2,0 closes
    the data connection: OK, then "+FTPPUT: 1,0" when the server confirmed (226).
    The manual's idle end of a PUT session ("等待一段时间不动作") is not modelled.
  * Error codes (12.16 table): no bearer 61, unknown host 62, refused 63, timeout 64,
    530 after USER 71, after PASS 72, TYPE refused 73, REST refused 74, a refused
    file operation (550: no such file, ...) 77, STOR refused or cut 78, a download
    cut 79, a local file error 85, AT+FTPQUIT 86, an unexpected reply 70.
  * AT+FTPEXTGET (12.18): mode 1 loads the file into RAM (at most 302511 bytes, 79
    beyond), 2 saves it as C:/USER/FTP/<name>, 3 prints a piece, 0 frees it.
  * AT+FTPEXTPUT (12.19): mode 1 collects the file in RAM with 2,<pos>,<len>,<ms>
    (at most 307200 bytes), then AT+FTPPUT=1 sends it whole.
  * AT+FTPFILEPUT (12.29 example) / AT+FTPFLEPUT (12.22 heading): same command.
  * Query forms print `+FTPPORT: 21` with a space, as AT+FTPSCONT? lists them (12.26).

Options (merged into the personality's defaults):
  ftp_rx_buffer  65536: bytes the module holds for AT+FTPGET=2 before the server waits.
  ftp_timeout    10: seconds for the server to answer (connect, reply, data).
"""
import ftplib
import socket
import threading

from .core import NetError, command
from .yuge_services import YugeServices, FSError

FTP_DEFAULTS = {"ftp_rx_buffer": 65536, "ftp_timeout": 10}

MAX_PUT = 1360  # 12.29: "+FTPPUT:1,1,1360"
MAX_GET = 1460  # 12.16 / 12.23 <reqlength> 1~1460
EXT_MAX = 302511  # 12.18 <totalLength> "<302512"
EXTPUT_MAX = 307200  # 12.19 <pos>/<len> "0-300K"
E_NET, E_DNS, E_CONNECT, E_TIMEOUT, E_SERVER, E_NOT_ALLOWED = 61, 62, 63, 64, 65, 66
E_REPLY, E_USER, E_PASS, E_TYPE, E_REST, E_PASV = 70, 71, 72, 73, 74, 75
E_OPERATE, E_UPLOAD, E_DOWNLOAD, E_FILE, E_QUIT = 77, 78, 79, 85, 86

# 12.1-12.13: name -> (key, kind, limit); kind "int" (range), "str" (max length), "set"
PARAMS = {
    "+FTPPORT": ("PORT", "int", (1, 65535)),
    "+FTPMODE": ("MODE", "int", (1, 1)),  # 12.2: 0 (active) "暂不支持"
    "+FTPTYPE": ("TYPE", "set", ("A", "I")),
    "+FTPPUTOPT": ("PUTOPT", "set", ("APPE", "STOU", "STOR")),
    "+FTPCID": ("CID", "int", (1, 3)),
    "+FTPREST": ("REST", "int", (0, 0x7FFFFFFF)),
    "+FTPSERV": ("SERV", "str", 49),
    "+FTPUN": ("UN", "str", 49),
    "+FTPPW": ("PW", "str", 49),
    "+FTPGETNAME": ("GETNAME", "str", 99),
    "+FTPGETPATH": ("GETPATH", "str", 255),
    "+FTPPUTNAME": ("PUTNAME", "str", 99),
    "+FTPPUTPATH": ("PUTPATH", "str", 99),
}
SCONT_ORDER = ("SERV", "PORT", "UN", "PW", "CID", "MODE", "TYPE", "PUTOPT", "REST",
               "GETNAME", "GETPATH", "PUTNAME", "PUTPATH", "TIMEOUT")


def ftp_defaults():
    return {"SERV": "", "PORT": 21, "UN": "", "PW": "", "CID": 1, "MODE": 1, "TYPE": "I",
            "PUTOPT": "STOR", "REST": 0, "GETNAME": "", "GETPATH": "", "PUTNAME": "",
            "PUTPATH": "", "TIMEOUT": 10}


def join(path, name):
    return (path.rstrip("/") or "") + "/" + name if name else (path or "/")


class Fail(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


class Job:
    """One FTP session. kind: GET LIST EXT4 (read by the host), EXTGET GETTOFS (into
    the module), PUT (from the host), RAMPUT PUTFRMFS (from the module), SIZE MKD RMD
    DELE (one command)."""

    READ = {"GET": ("+FTPGET", "+FTPGET: 1,1", "+FTPGET: 2,%d"),
            "LIST": ("+FTPLIST", "+FTPLIST: 1,1", "+FTPLIST: 2,%d"),
            "EXT4": ("+FTPEXTGET", None, "+FTPEXTGET: 4,%d")}

    def __init__(self, kind, urc):
        self.kind = kind
        self.urc = urc  # "+FTPGET" ...: the name of its result URC
        self.alive = True
        self.rx = bytearray()
        self.total = 0  # bytes moved so far
        self.written = 0  # GETTOFS: bytes in the file system
        self.finished = False  # the server side is over (code below)
        self.code = None
        self.armed = True  # next arrival announces "data to read"
        self.ftp = None
        self.data = None  # data connection
        self.key = None  # file system key (GETTOFS / PUTFRMFS)


class YugeFTP(YugeServices):
    """AT+FTP* (manual ch.12)."""

    defaults = dict(FTP_DEFAULTS)

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        merged = dict(FTP_DEFAULTS)
        merged.update(cls.defaults)
        cls.defaults = merged

    def reset_state(self):
        super().reset_state()
        if not hasattr(self, "ftp_saved"):
            self.ftp_saved = None  # AT+FTPSCONT: survives reboots (NVRAM)
        self.ftp = dict(self.ftp_saved or ftp_defaults())
        old = getattr(self, "ftp_job", None)
        if old is not None:
            self._ftp_kill(old)
        self.ftp_job = None
        self.ftp_ram = None  # AT+FTPEXTGET=1 download (bytes)
        self.ftp_ext_get = 0  # AT+FTPEXTGET mode 1 selected
        self.ftp_extput = None  # AT+FTPEXTPUT=1 RAM (bytearray) or None
        self.ftp_fileput = None  # AT+FTPFILEPUT=1 file bytes or None
        self.ftp_cv = threading.Condition(self.lock)

    # ---------------------------------------------------------------- parameters
    def _ftp_param(self, c):
        key, kind, lim = PARAMS[c.name]
        if c.kind == "test":
            return self.ok()
        if c.kind == "read":
            return self.answer("%s: %s" % (c.name, self.ftp[key]))
        if c.kind != "set" or len(c) != 1:
            return self.error()
        if kind == "int":
            v = c.int(0)
            if not lim[0] <= v <= lim[1]:
                return self.error()
        elif kind == "set":
            v = c.str(0).upper()
            if v not in lim:
                return self.error()
        else:
            v = c.str(0, "")
            if len(v) > lim:
                return self.error()
        self.ftp[key] = v
        self.ok()

    commands = {name: "_ftp_param" for name in PARAMS}

    @command("+FTPSCONT")
    def at_ftpscont(self, c):
        if c.kind == "read":
            lines = ["+FTPSCONT: %d" % (1 if self.ftp_saved else 0)]
            lines += ["+FTP%s: %s" % (k, self.ftp[k]) for k in SCONT_ORDER]
            return self.answer(*lines)
        if c.kind == "exec":
            self.ftp_saved = dict(self.ftp)
            return self.ok()
        self.error()

    @command("+FTPSTATE")
    def at_ftpstate(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "exec":
            return self.error()
        self.answer("+FTPSTATE: %d" % (0 if self.ftp_job is None else 1))

    # ---------------------------------------------------------------- sessions
    def _ftp_begin(self, c, kind, urc):
        """Checks shared by the session commands; returns (job, ip) or None (answered)."""
        if self.ftp_job is not None:
            self.cme_error(3)
            return None
        job = Job(kind, urc)
        self.ok()
        bearer = getattr(self, "bearer_ip", None)
        up = bearer(self.ftp["CID"]) if bearer else self.contexts.get(self.ftp["CID"])
        if not up:
            self.after(1, self._ftp_end_result, job, E_NET)
            return None
        try:
            ip = self.net.resolve(self.ftp["SERV"])
        except NetError as e:
            self.after(1, self._ftp_end_result, job, E_DNS if e.kind == "resolve" else E_CONNECT)
            return None
        self.ftp_job = job
        return job, ip

    def _ftp_end_result(self, job, code):
        """A session that never started: only its result URC."""
        self._ftp_urc(job, code)

    def _ftp_urc(self, job, code, extra=""):
        if job.kind in ("GETTOFS", "PUTFRMFS"):
            if code == 0:
                self.urc("%s: 0,%d" % (job.urc, job.total))
            else:
                self.urc("%s: %d" % (job.urc, code))
        elif job.kind == "SIZE":
            self.urc("+FTPSIZE: 1,%d,%d" % (code, job.total if code == 0 else 0))
        else:
            self.urc("%s: 1,%d%s" % (job.urc, code, extra))

    def _ftp_run(self, job, ip, fn):
        p = dict(self.ftp)
        t = threading.Thread(target=self._ftp_worker, args=(job, ip, p, fn), daemon=True,
                             name="modemsim-ftp")
        t.start()

    def _ftp_login(self, job, ip, p):
        tmo = float(self.opts["ftp_timeout"])
        ftp = ftplib.FTP()
        job.ftp = ftp
        try:
            ftp.connect(ip, p["PORT"], timeout=tmo)
        except socket.timeout:
            raise Fail(E_TIMEOUT)
        except OSError:
            raise Fail(E_CONNECT)
        try:
            resp = ftp.sendcmd("USER " + (p["UN"] or "anonymous"))
        except ftplib.error_perm:
            raise Fail(E_USER)
        if resp.startswith("3"):
            try:
                ftp.sendcmd("PASS " + p["PW"])
            except ftplib.error_perm:
                raise Fail(E_PASS)
        try:
            ftp.voidcmd("TYPE " + p["TYPE"])
        except ftplib.error_perm:
            raise Fail(E_TYPE)
        ftp.set_pasv(True)
        return ftp

    def _ftp_worker(self, job, ip, p, fn):
        code = 0
        try:
            fn(job, self._ftp_login(job, ip, p), p)
        except Fail as e:
            code = e.code
        except socket.timeout:
            code = E_TIMEOUT
        except ftplib.error_perm:
            code = E_OPERATE
        except (ftplib.Error, EOFError):
            code = E_REPLY
        except OSError:
            code = E_DOWNLOAD if job.total else E_NET
        except (AttributeError, ValueError):
            # The session was killed (AT+FTPQUIT, a reset, the simulator closed) and
            # its sockets closed under this thread: ftplib then reads from None or a
            # closed file. Nothing is left to report to; anything else is a bug.
            if job.alive and not self.closed:
                raise
            code = E_NET
        finally:
            self._ftp_close(job)
        with self.lock:
            if not self.closed:
                self._ftp_finish(job, code)

    def _ftp_close(self, job):
        for s in (job.data, job.ftp):
            if s is not None:
                try:
                    s.close()
                except Exception:
                    pass

    def _ftp_kill(self, job):
        job.alive = False
        self._ftp_close(job)
        with self.ftp_cv:
            self.ftp_cv.notify_all()

    def _ftp_finish(self, job, code):
        """The worker is over (lock held): report, or wait for the host to read."""
        if not job.alive or self.ftp_job is not job:
            return
        job.finished = True
        job.code = code
        if job.kind in Job.READ and code == 0 and job.rx:
            return  # "+FTPGET: 1,0" once the host read the rest (at_ftpget)
        self.ftp_job = None
        if job.kind == "EXTGET" and code == 0:
            self.ftp_ram = bytes(job.rx)
        self._ftp_urc(job, code)

    def _ftp_arrived(self, job, data):
        """Download bytes (lock held)."""
        job.total += len(data)
        if job.kind == "GETTOFS":
            try:
                self.fs.write(job.key, data, append=True)
            except FSError:
                raise Fail(E_FILE)
            job.written += len(data)
            return
        job.rx += data
        if job.kind == "EXTGET":
            if job.total > EXT_MAX:
                raise Fail(E_DOWNLOAD)
            return
        if job.armed:
            job.armed = False
            read = Job.READ[job.kind]
            self.urc(read[1] or "+FTPEXTGET: 4,%d" % len(job.rx))

    def _download(self, cmd, rest=0):
        """Worker body of the downloads: RETR/LIST into _ftp_arrived."""
        def run(job, ftp, p):
            if rest:
                try:
                    ftp.sendcmd("REST %d" % rest)
                except ftplib.Error:
                    raise Fail(E_REST)
            try:
                job.data = conn = ftp.transfercmd(cmd)
            except ftplib.error_perm:
                raise Fail(E_OPERATE)
            except (ftplib.Error, EOFError):
                raise Fail(E_PASV)
            limit = int(self.opts["ftp_rx_buffer"])
            while True:
                d = conn.recv(16384)
                if not d:
                    break
                with self.ftp_cv:
                    if not job.alive:
                        return
                    self._ftp_arrived(job, d)
                    while job.alive and job.kind in Job.READ and len(job.rx) >= limit:
                        self.ftp_cv.wait(1)
            conn.close()
            job.data = None
            try:
                ftp.voidresp()
            except ftplib.Error:
                raise Fail(E_DOWNLOAD)
        return run

    def _read_cmd(self, c, kind):
        """AT+FTPGET=2,<n> / AT+FTPLIST=2,<n> / AT+FTPEXTGET=4,<n>."""
        n = c.int(1)
        job = self.ftp_job
        if job is None or job.kind != kind or not 1 <= n <= MAX_GET:
            return self.error()
        data = bytes(job.rx[:n])
        del job.rx[:n]
        with self.ftp_cv:
            self.ftp_cv.notify_all()
        self.raw(b"\r\n" + (Job.READ[kind][2] % len(data)).encode() + b"\r\n" + data)
        self.ok()
        if not job.rx:
            if job.finished:
                self.ftp_job = None
                self._ftp_urc(job, job.code)
            else:
                job.armed = True

    @command("+FTPGET")
    def at_ftpget(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "set":
            return self.error()
        mode = c.int(0)
        if mode == 2:
            return self._read_cmd(c, "GET")
        if mode != 1 or len(c) != 1 or self.ftp_ext_get:
            return self.error()
        got = self._ftp_begin(c, "GET", "+FTPGET")
        if got:
            path = join(self.ftp["GETPATH"], self.ftp["GETNAME"])
            self._ftp_run(got[0], got[1], self._download("RETR " + path, self.ftp["REST"]))

    @command("+FTPLIST")
    def at_ftplist(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "set":
            return self.error()
        mode = c.int(0)
        if mode == 2:
            return self._read_cmd(c, "LIST")
        if mode != 1:
            return self.error()
        got = self._ftp_begin(c, "LIST", "+FTPLIST")
        if got:
            self._ftp_run(got[0], got[1], self._download("LIST " + (self.ftp["GETPATH"] or "/")))

    def _one(self, c, kind, urc, op):
        """AT+FTPSIZE / FTPMKD / FTPRMD / FTPDELE: OK, then one result URC."""
        if c.kind == "test":
            return self.ok()
        if c.kind != "exec":
            return self.error()
        got = self._ftp_begin(c, kind, urc)
        if not got:
            return

        def run(job, ftp, p):
            try:
                r = op(ftp, p)
            except ftplib.error_perm:
                raise Fail(E_OPERATE)
            if kind == "SIZE":
                job.total = r
        self._ftp_run(got[0], got[1], run)

    @command("+FTPSIZE")
    def at_ftpsize(self, c):
        self._one(c, "SIZE", "+FTPSIZE",
                  lambda ftp, p: ftp.size(join(p["GETPATH"], p["GETNAME"])))

    @command("+FTPMKD")
    def at_ftpmkd(self, c):
        # 12.14: the directory is the one AT+FTPGETPATH names
        self._one(c, "MKD", "+FTPMKD", lambda ftp, p: ftp.mkd(p["GETPATH"]))

    @command("+FTPRMD")
    def at_ftprmd(self, c):
        self._one(c, "RMD", "+FTPRMD", lambda ftp, p: ftp.rmd(p["GETPATH"]))

    @command("+FTPDELE")
    def at_ftpdele(self, c):
        self._one(c, "DELE", "+FTPDELE",
                  lambda ftp, p: ftp.delete(join(p["GETPATH"], p["GETNAME"])))

    @command("+FTPQUIT")
    def at_ftpquit(self, c):
        if c.kind == "test":
            return self.ok()
        job = self.ftp_job
        if c.kind != "exec" or job is None:
            return self.error()
        self.ftp_job = None
        self._ftp_kill(job)
        self.ok()
        # 12.29: "OK" then "+FTPGET: 1,86" / "+FTPPUT: 1,86" / "+FTPLIST: 1,86"
        self._ftp_urc(job, E_QUIT)

    # ---------------------------------------------------------------- uploads
    def _put_target(self, p):
        return "%s %s" % (p["PUTOPT"], join(p["PUTPATH"], p["PUTNAME"]))

    @command("+FTPPUT")
    def at_ftpput(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "set":
            return self.error()
        mode = c.int(0)
        if mode == 2:
            return self._put_data(c)
        if mode != 1 or len(c) != 1:
            return self.error()
        ram = self.ftp_extput if self.ftp_extput is not None else self.ftp_fileput
        if ram is not None:
            # 12.19 / 12.22: the file waiting in RAM goes up whole
            got = self._ftp_begin(c, "RAMPUT", "+FTPPUT")
            if got:
                self._ftp_run(got[0], got[1], self._upload(bytes(ram)))
            return
        got = self._ftp_begin(c, "PUT", "+FTPPUT")
        if got:
            self._ftp_run(got[0], got[1], self._put_session)

    def _upload(self, data):
        def run(job, ftp, p):
            try:
                job.data = conn = ftp.transfercmd(self._put_target(p))
            except ftplib.error_perm:
                raise Fail(E_UPLOAD)
            for i in range(0, len(data), 8192):
                if not job.alive:
                    return
                conn.sendall(data[i:i + 8192])
                job.total = min(len(data), i + 8192)
            conn.close()
            job.data = None
            try:
                ftp.voidresp()
            except ftplib.Error:
                raise Fail(E_UPLOAD)
        return run

    def _put_session(self, job, ftp, p):
        """FTPPUT=1: open the data connection, say "+FTPPUT: 1,1,<max>", then wait
        for the host's FTPPUT=2 pieces and its FTPPUT=2,0 (the lock is free meanwhile)."""
        try:
            conn = ftp.transfercmd(self._put_target(p))
        except ftplib.error_perm:
            raise Fail(E_UPLOAD)
        with self.ftp_cv:
            if not job.alive:
                return
            job.data = conn
            self.urc("+FTPPUT: 1,1,%d" % MAX_PUT)
            while job.alive and not job.finished:
                self.ftp_cv.wait(1)
            job.finished = False
            if not job.alive:
                return
        conn.close()
        job.data = None
        try:
            ftp.voidresp()
        except ftplib.Error:
            raise Fail(E_UPLOAD)

    def _put_data(self, c):
        n = c.int(1)
        job = self.ftp_job
        if job is None or job.kind != "PUT" or job.data is None or not 0 <= n <= MAX_PUT:
            return self.error()
        if n == 0:
            # 12.17: "OK" then "+FTPPUT: 1,0" when the server confirmed
            job.finished = True
            self.ok()
            with self.ftp_cv:
                self.ftp_cv.notify_all()
            return

        def done(data, reason):
            if reason != "len":
                return self.error()
            try:
                job.data.sendall(data)
            except (OSError, AttributeError):
                return self.error()
            job.total += len(data)
            self.ok()
        self.collect(done, n=n, prompt=("\r\n+FTPPUT: 2,%d\r\n" % n).encode(),
                     timeout_ms=int(self.opts["ftp_timeout"]) * 1000)

    # ---------------------------------------------------------------- 12.18 / 12.19 RAM
    @command("+FTPEXTGET")
    def at_ftpextget(self, c):
        if c.kind == "test":
            return self.ok()
        job = self.ftp_job
        if c.kind == "read":
            if job is not None and job.kind == "EXTGET":
                return self.answer("+FTPEXTGET: 1,%d" % job.total)
            return self.answer("+FTPEXTGET: 0" + (",%d" % len(self.ftp_ram)
                                                  if self.ftp_ram is not None else ""))
        if c.kind != "set":
            return self.error()
        mode = c.int(0)
        if mode == 0 and len(c) == 1:
            self.ftp_ext_get = 0
            self.ftp_ram = None
            return self.ok()
        if mode == 1 and len(c) == 1:
            if self.ftp_extput is not None:  # 12.18 note
                return self.error()
            self.ftp_ext_get = 1
            self.ftp_ram = None
            got = self._ftp_begin(c, "EXTGET", "+FTPEXTGET")
            if got:
                path = join(self.ftp["GETPATH"], self.ftp["GETNAME"])
                self._ftp_run(got[0], got[1], self._download("RETR " + path))
            return
        if mode == 2 and len(c) == 2:
            name = c.str(1)
            if self.ftp_ram is None or not name or len(name) > 64 or "/" in name:
                return self.error()
            try:
                self.fs.put("C:/USER/FTP/" + name, self.ftp_ram)
            except FSError:
                return self.error()
            return self.answer("+FTPEXTGET: 2,%d" % len(self.ftp_ram))
        if mode == 3 and len(c) == 3:
            pos, n = c.int(1), c.int(2)
            ram = self.ftp_ram
            if ram is None or not 0 <= pos <= len(ram) or n < 1:
                return self.error()
            data = ram[pos:pos + n]
            self.raw(b"\r\n+FTPEXTGET: 3,%d\r\n" % len(data) + data)
            return self.ok()
        if mode == 4:
            if len(c) == 2:
                return self._read_cmd(c, "EXT4")
            got = self._ftp_begin(c, "EXT4", "+FTPEXTGET")
            if got:
                path = join(self.ftp["GETPATH"], self.ftp["GETNAME"])
                self._ftp_run(got[0], got[1], self._download("RETR " + path))
            return
        self.error()

    @command("+FTPEXTPUT")
    def at_ftpextput(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "set":
            return self.error()
        mode = c.int(0)
        if mode in (0, 1) and len(c) == 1:
            self.ftp_extput = bytearray() if mode else None
            return self.ok()
        if mode != 2 or len(c) != 4 or self.ftp_extput is None:
            return self.error()
        pos, n, ms = c.int(1), c.int(2), c.int(3)
        if not 0 <= pos <= EXTPUT_MAX or not 0 <= n or pos + n > EXTPUT_MAX \
                or not 1000 <= ms <= 1000000:
            return self.error()
        ram = self.ftp_extput

        def done(data, reason):
            if reason != "len":
                return self.error()
            if len(ram) < pos:
                ram.extend(bytes(pos - len(ram)))
            ram[pos:pos + n] = data
            self.ok()
        self.collect(done, n=n, prompt=b"\r\n+FTPEXTPUT: %d,%d\r\n" % (pos, n), timeout_ms=ms)

    @command("+FTPFILEPUT", "+FTPFLEPUT")
    def at_ftpfileput(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "set":
            return self.error()
        mode = c.int(0)
        if mode == 0:
            self.ftp_fileput = None
            return self.ok()
        if mode != 1 or len(c) != 2 or self.ftp_extput is not None:
            return self.error()
        try:
            key = self.fs.norm(c.str(1))
        except FSError:
            return self.error()
        if not self.fs.is_file(key):
            return self.error()
        self.ftp_fileput = bytes(self.fs.entries[key])
        self.ok()

    # ---------------------------------------------------------------- 12.20 / 12.21 FS
    @command("+FTPGETTOFS")
    def at_ftpgettofs(self, c):
        if c.kind == "test":
            return self.ok()
        job = self.ftp_job
        if c.kind == "read":
            if job is not None and job.kind == "GETTOFS":
                return self.answer("+FTPGETTOFS: 1,%d,%d" % (job.total, job.written))
            return self.answer("+FTPGETTOFS: 0")
        if c.kind != "set" or len(c) not in (2, 4):
            return self.error()
        loc, name = c.int(0), c.str(1)
        if loc not in (0, 1) or not name or len(name) > 64 or "/" in name or "\\" in name:
            return self.error()
        # 12.20: ROM "Disk1:/USER/FTP" (C:/USER/FTP, as 12.29 lists it), SD "Disk2:/FTP"
        key = ("C:/USER/FTP/" if loc == 0 else "D:/FTP/") + name
        if key[0] not in self.fs.sizes:
            return self.error()
        got = self._ftp_begin(c, "GETTOFS", "+FTPGETTOFS")
        if got:
            job = got[0]
            job.key = key
            self.fs.put(key, b"")  # 12.20 note: the same name is overwritten
            path = join(self.ftp["GETPATH"], self.ftp["GETNAME"])
            self._ftp_run(job, got[1], self._download("RETR " + path))

    @command("+FTPPUTFRMFS")
    def at_ftpputfrmfs(self, c):
        if c.kind == "test":
            return self.ok()
        job = self.ftp_job
        if c.kind == "read":
            if job is not None and job.kind == "PUTFRMFS":
                return self.answer("+FTPPUTFRMFS: 1,%d" % job.total)
            return self.answer("+FTPPUTFRMFS: 0")
        if c.kind != "set" or len(c) not in (1, 3):
            return self.error()
        path = c.str(0)
        try:
            key = self.fs.norm(path)
        except FSError:
            return self.error()
        if len(path) > 128 or not self.fs.is_file(key):
            return self.error()
        got = self._ftp_begin(c, "PUTFRMFS", "+FTPPUTFRMFS")
        if got:
            self._ftp_run(got[0], got[1], self._upload(bytes(self.fs.entries[key])))
