"""FTP through the Yuge EC716S module's own client (manual ch.12, AT+FTP*).

The module keeps the settings (AT+FTPSERV, FTPPORT, FTPUN, FTPPW, FTPCID, FTPMODE,
FTPTYPE) and runs one session at a time; each operation is one session whose result
comes as a URC ("+FTPGET: 1,0", "+FTPSIZE: 1,0,<size>", ...). Transfers:
  get(remote, dest)      AT+FTPGET=1, then AT+FTPGET=2,1460 pieces (12.16) straight
                         from the UART into a file or a callback: any size, constant
                         heap; ext=True: AT+FTPEXTGET (12.18) into the module's RAM
                         first (files under 300 KB), then read out with mode 3
  put(remote, src)       AT+FTPPUT=1, "+FTPPUT: 1,1,<max>", AT+FTPPUT=2,<n> pieces
                         from bytes or a file (12.17); ext=True: AT+FTPEXTPUT (12.19)
                         into the module's RAM, then sent whole
  get_to_fs / put_from_fs  AT+FTPGETTOFS / AT+FTPPUTFRMFS (12.20, 12.21): between the
                         server and the module's file system (see yuge_fs), nothing
                         through the UART
  list, size, mkdir, rmdir, delete, state, quit (12.23-12.28); rest= resumes (12.6).
Session results other than 0 raise FTPError(code, the 12.16 table's text); commands
the module refuses raise ATError. progress(done, total) is called after each piece
(total None when unknown).

What the module cannot do, and how this client says so:
  * active mode (12.2 "暂不支持"): passive=False is a ValueError;
  * names go inside quotes: quotes, backslashes, control and non-ASCII characters,
    a server, user or password over 49 characters (12.7-12.9), a file name over 99,
    a download path over 255, an upload path over 99 (12.10-12.13): ValueError before
    anything is sent;
  * FTPEXTGET / FTPEXTPUT hold at most 302511 / 307200 bytes (12.18, 12.19):
    ValueError (upload) or FTPError 79 (download) beyond;
  * one session per module: a second FTP object on the same modem takes the URCs.

Usage:
    from cellmodem.native.yuge_ftp import FTP
    ftp = FTP("ftp.example.com", user="u", password="p", modem=modem)
    ftp.get("/fw/app.bin", "/app.bin", progress=lambda d, t: print(d, t))
    ftp.put("/logs/today.txt", b"...")
"""
import errno

from cellmodem.compat import ticks_ms, ticks_diff, ticks_add
from cellmodem.errors import ATError, ATTimeout
from cellmodem.native.yuge_fs import yuge, fs_name
from cellmodem.validate import at_string, payload, port_number

# 12.16 <error>
_TEXT = {61: "net error", 62: "DNS error", 63: "connect error", 64: "timeout",
         65: "server error", 66: "operation not allowed", 70: "reply error",
         71: "user error", 72: "password error", 73: "type error", 74: "rest error",
         75: "passive error", 76: "active error", 77: "operate error", 78: "upload error",
         79: "download error", 80: "FTP SSL connect error", 81: "FTP SSL connect error",
         82: "FTP SSL connect error", 83: "FTP SSL connect error",
         84: "FTP SSL connect error", 85: "file error", 86: "quit"}
MAX_GET = 1460  # 12.16 <reqlength> 1~1460
EXT_GET_MAX = 302511  # 12.18 <totalLength> "<302512"
EXT_PUT_MAX = 307200  # 12.19 <pos>, <len> "0-300K"
_URCS = (b"+FTPGET:", b"+FTPPUT:", b"+FTPLIST:", b"+FTPSIZE:", b"+FTPMKD:", b"+FTPRMD:",
         b"+FTPDELE:", b"+FTPEXTGET:", b"+FTPGETTOFS:", b"+FTPPUTFRMFS:")
_GET, _PUT, _LIST, _SIZE, _MKD, _RMD, _DELE, _EXTGET, _TOFS, _FRMFS = range(10)


class FTPError(ATError):
    """An FTP session failed: code is the module's <error> (12.16), text its meaning."""

    def __init__(self, code, command=None):
        super().__init__(code, _TEXT.get(code, "FTP error"), command)


def _split(remote, dirmax):
    """"/a/b.bin" -> ("/a/", "b.bin"), each checked; ValueError if bad."""
    remote = at_string(remote, "remote path", dirmax + 99, empty=False)
    i = remote.rfind("/") + 1
    d, name = remote[:i] or "/", remote[i:]
    if not name:
        raise ValueError("remote path %r names no file" % remote)
    return (at_string(d, "remote directory", dirmax), at_string(name, "remote file name", 99))


class FTP:
    """An FTP server reached by the module.

    host (name or IPv4, at most 49 characters), port, user, password (at most 49
    each; "" for anonymous), cid: the SAPBR bearer, 1-3 (12.5); binary: TYPE I
    (False: A); timeout: ms to wait for each result or piece; modem: a yuge Modem
    (default: the one connected last). Raises ValueError for bad settings (nothing
    is sent)."""

    def __init__(self, host, port=21, user="", password="", *, modem=None, cid=1,
                 passive=True, binary=True, timeout=60000):
        if passive is not True:
            raise ValueError("the module has passive mode only (manual 12.2)")
        if cid not in (1, 2, 3):
            raise ValueError("cid must be 1-3 (manual 12.5)")
        if not isinstance(timeout, int) or timeout <= 0:
            raise ValueError("timeout must be a positive int (ms)")
        self._setup = (at_string(host, "FTP server", 49, empty=False), port_number(port),
                       at_string(user or "", "FTP user", 49),
                       at_string(password or "", "FTP password", 49, secret=True), cid,
                       "I" if binary else "A")
        self.modem = yuge(modem)
        self.at = self.modem.at
        self.at.secret(self._setup[3])  # AT+FTPPW carries it: never in a trace
        self.timeout = timeout
        self._done = False  # settings sent
        self._want = -1  # the session whose URCs count
        self._avail = 0  # "data to read" / "+FTPPUT: 1,1,<max>"
        self._end = None  # the session's result code
        self._size = 0
        self._sink = None
        self._n = -1
        self._got = -1
        self._on_line = self._line_fn  # bound once: no allocation per piece
        self._raw = self._raw_fn
        for p in _URCS:
            self.at.urc(p, self._on_urc)

    # ---- URCs
    def _on_urc(self, line):
        k = 0
        while not line.startswith(_URCS[k]):
            k += 1
            if k == len(_URCS):
                return
        if k != self._want:
            return  # another session's late word (e.g. after AT+FTPQUIT)
        a = line.int(0, -1)
        b = line.int(1, -1)
        if k in (_TOFS, _FRMFS):  # "<0>,<total>" or "<error>" (12.20, 12.21)
            self._size = b
            self._end = a
        elif k == _EXTGET and a == 4:  # "+FTPEXTGET: 4,<len>": data to read
            self._avail = b
        elif b == 1 and k in (_GET, _LIST, _PUT):  # 1,1[,<max>]: data / ready
            self._avail = line.int(2, 1) if k == _PUT else 1
        else:
            if k == _SIZE:  # "+FTPSIZE: 1,<error>,<size>"
                self._size = line.int(2, 0)
            self._end = b

    def _line_fn(self, line):
        # a reply header: "+FTPGET: 2,<k>", "+FTPLIST: 2,<k>", "+FTPEXTGET: 3|4,<k>"
        # then k bytes; "+FTPPUT: 2,<n>" / "+FTPEXTPUT: <pos>,<n>" are prompts; any
        # other line of these names is a URC that came meanwhile
        if line.startswith(b"+FTPPUT:") and line.int(0, -1) == 2 \
                or line.startswith(b"+FTPEXTPUT:"):
            if line.int(1, -1) == self._n:  # the module takes what we asked for
                self.at.engine.prompted = True
            return
        m = line.int(0, -1)
        if m == 2 and not line.startswith(b"+FTPEXTGET") or m in (3, 4) and \
                line.startswith(b"+FTPEXTGET"):
            self._n = line.int(1, 0)
            self.at.engine.expect_raw(self._n, self._raw)
        else:
            self._on_urc(line)

    def _raw_fn(self, buf, off, n):
        self._sink(buf[off:off + n])  # the caller's sink takes a memoryview

    # ---- plumbing
    def _configure(self):
        if self._done:
            return
        host, port, user, pwd, cid, typ = self._setup
        at = self.at
        at.command("AT+FTPCID=%d" % cid)  # 12.29 order
        at.command('AT+FTPSERV="%s"' % host)
        at.command("AT+FTPPORT=%d" % port)
        at.command('AT+FTPUN="%s"' % user)
        at.command('AT+FTPPW="%s"' % pwd)
        at.command("AT+FTPMODE=1")
        at.command('AT+FTPTYPE="%s"' % typ)
        self._done = True

    def _begin(self, kind, cmd):
        self._configure()
        self.at.poll()  # late URCs of an earlier session are seen now, not later
        self._want = kind
        self._avail = 0
        self._end = None
        self.at.command(cmd)

    def _wait(self, cond, cmd):
        try:
            self.at.wait_until(cond, self.timeout, "FTP result", cmd)
        except ATTimeout:
            raise OSError(errno.ETIMEDOUT, "%s: no result within %d ms" % (cmd, self.timeout))

    def _result(self, cmd):
        """Wait for the session's end; FTPError unless it is 0."""
        self._wait(lambda: self._end is not None, cmd)
        self._want = -1
        if self._end != 0:
            raise FTPError(self._end, cmd)

    def _read(self, cmd, sink):
        """One read command: its k payload bytes go to sink(memoryview); returns k."""
        self._sink = sink
        self._n = -1
        try:
            self.at.command(cmd, on_line=self._on_line, resp=b"+FTP")
        finally:
            self._sink = None
        return self._n if self._n > 0 else 0

    def _names(self, remote, get=True):
        d, name = _split(remote, 255 if get else 99)  # ValueError before anything is sent
        self._configure()
        kind = "GET" if get else "PUT"
        self.at.command('AT+FTP%sPATH="%s"' % (kind, d))
        self.at.command('AT+FTP%sNAME="%s"' % (kind, name))

    # ---- downloads
    def get(self, remote, dest, rest=0, ext=False, progress=None):
        """Download remote into dest: a file name on this board, a file object
        (write), or a callable(memoryview) that copies what it keeps. rest: resume
        from this byte (12.6). ext: through the module's RAM (AT+FTPEXTGET, < 300 KB).
        Returns the byte count. Raises FTPError, OSError(ETIMEDOUT), ATError."""
        if not isinstance(rest, int) or rest < 0:
            raise ValueError("rest must be an int >= 0")
        d, name = _split(remote, 255)
        f = None
        if isinstance(dest, str):
            f = open(dest, "ab" if rest else "wb")
            sink = f.write
        elif hasattr(dest, "write"):
            sink = dest.write
        elif callable(dest):
            sink = dest
        else:
            raise ValueError("dest must be a file name, a file object or a callable")
        try:
            self._configure()
            self.at.command('AT+FTPGETPATH="%s"' % d)
            self.at.command('AT+FTPGETNAME="%s"' % name)
            if ext:
                return self._get_ext(sink, progress)
            self.at.command("AT+FTPREST=%d" % rest)  # 12.6; the module keeps it
            return self._stream(_GET, "AT+FTPGET=1", b"AT+FTPGET=2,%d" % MAX_GET, sink,
                                progress)
        finally:
            if f is not None:
                f.close()

    def _stream(self, kind, start, readcmd, sink, progress):
        """FTPGET / FTPLIST: wait for "1,1", read pieces until one is empty, again,
        until "1,0" (12.16, 12.23)."""
        self._begin(kind, start)
        total = 0
        while True:
            self._wait(lambda: self._avail or self._end is not None, start)
            if not self._avail:
                break
            self._avail = 0
            while self._end is None:
                try:
                    k = self._read(readcmd, sink)
                except ATError:
                    # the session ended after our last read ("+FTPGET: 1,0" still
                    # on its way): the module refuses the read; wait for the word
                    self._wait(lambda: self._end is not None, start)
                    break
                if not k:
                    break
                total += k
                if progress:
                    progress(total, None)
        self._result(start)
        return total

    def _get_ext(self, sink, progress):
        cmd = "AT+FTPEXTGET=1"
        self._begin(_EXTGET, cmd)
        try:
            self._result(cmd)  # "+FTPEXTGET: 1,0": the file is in the module's RAM
            total = 0
            while True:
                k = self._read(b"AT+FTPEXTGET=3,%d,%d" % (total, MAX_GET), sink)
                total += k
                if progress and k:
                    progress(total, None)
                if k < MAX_GET:
                    return total
        finally:
            self.at.command("AT+FTPEXTGET=0")  # 12.18: back to FTPGET, RAM freed

    def list(self, path="/"):
        """The server's LIST of path (AT+FTPLIST, 12.23) as a list of str lines."""
        path = at_string(path, "remote directory", 255)  # before anything is sent
        self._configure()
        self.at.command('AT+FTPGETPATH="%s"' % path)
        buf = bytearray()
        self._stream(_LIST, "AT+FTPLIST=1", b"AT+FTPLIST=2,%d" % MAX_GET, buf.extend, None)
        return [ln for ln in bytes(buf).decode().split("\r\n") if ln]

    # ---- uploads
    def put(self, remote, src, append=False, ext=False, progress=None):
        """Upload src (bytes/str, a file object with readinto, or a file name on this
        board) as remote; append: APPE instead of STOR (12.4). ext: through the
        module's RAM (AT+FTPEXTPUT, at most 307200 bytes). Returns the byte count.
        Raises FTPError, OSError(ETIMEDOUT), ATError, ValueError."""
        _split(remote, 99)
        f = None
        mv = None
        if isinstance(src, str):
            f = src = open(src, "rb")
        elif not hasattr(src, "readinto"):
            mv = payload(src)
        if ext and (mv is None or len(mv) > EXT_PUT_MAX):
            if f:
                f.close()
            raise ValueError("ext=True takes bytes of at most %d (manual 12.19)" % EXT_PUT_MAX)
        try:
            self._configure()
            self._names(remote, get=False)
            self.at.command('AT+FTPPUTOPT="%s"' % ("APPE" if append else "STOR"))
            if ext:
                return self._put_ext(mv, progress)
            return self._put(src, mv, progress)
        finally:
            if f is not None:
                f.close()

    def _send(self, cmd, n, data):
        self._n = n
        self.at.send_data(cmd, data, resp=b"+FTP", on_line=self._on_line,
                          timeout=self.timeout)

    def _put(self, src, mv, progress):
        cmd = "AT+FTPPUT=1"
        self._begin(_PUT, cmd)
        self._wait(lambda: self._avail or self._end is not None, cmd)
        if self._end is not None:
            self._result(cmd)
        mx = self._avail  # 12.17 <maxlength>: "取决于网络状态"
        full = b"AT+FTPPUT=2,%d" % mx
        buf = None if mv is not None else bytearray(mx)
        total = 0
        while True:
            if mv is not None:
                piece = mv[total:total + mx]
            else:
                piece = memoryview(buf)[:src.readinto(buf) or 0]
            n = len(piece)
            if not n:
                break
            if self._end is not None:  # the session ended under us
                self._result(cmd)
            self._send(full if n == mx else "AT+FTPPUT=2,%d" % n, n, piece)
            total += n
            if progress:
                progress(total, len(mv) if mv is not None else None)
        self.at.command("AT+FTPPUT=2,0")  # 12.17: no more data; "+FTPPUT: 1,0" follows
        self._result(cmd)
        return total

    def _put_ext(self, mv, progress):
        self.at.command("AT+FTPEXTPUT=1")
        try:
            total = 0
            while total < len(mv):
                n = min(MAX_GET, len(mv) - total)
                # 12.19: <pos>,<len>,<timeout ms> then "+FTPEXTPUT: <pos>,<len>"
                self._send("AT+FTPEXTPUT=2,%d,%d,%d" % (total, n, 10000), n,
                           mv[total:total + n])
                total += n
                if progress:
                    progress(total, len(mv))
            cmd = "AT+FTPPUT=1"
            self._begin(_PUT, cmd)
            self._result(cmd)
            return total
        finally:
            self.at.command("AT+FTPEXTPUT=0")

    # ---- the module's file system
    def get_to_fs(self, remote, name, sd=False, progress=None):
        """Download remote into the module's file system as C:/USER/FTP/<name> (sd:
        D:/FTP/<name>) with AT+FTPGETTOFS (12.20); returns the byte count. progress
        (received, None) about once a second, from AT+FTPGETTOFS?."""
        name = fs_name(name)
        if "/" in name:
            raise ValueError("a file name without a directory (manual 12.20)")
        self._names(remote)
        return self._to_from(_TOFS, 'AT+FTPGETTOFS=%d,"%s"' % (1 if sd else 0, name),
                             "AT+FTPGETTOFS?", progress)

    def put_from_fs(self, path, remote, progress=None):
        """Upload the module's file path (e.g. "C:/USER/FTP/log.txt", at most 128
        characters) as remote with AT+FTPPUTFRMFS (12.21); returns the byte count."""
        path = fs_name(path, "module file path", 128)
        self._names(remote, get=False)
        self.at.command('AT+FTPPUTOPT="STOR"')
        return self._to_from(_FRMFS, 'AT+FTPPUTFRMFS="%s"' % path, "AT+FTPPUTFRMFS?",
                             progress)

    def _to_from(self, kind, cmd, query, progress):
        self._begin(kind, cmd)
        self._got = -1
        last = -1
        deadline = ticks_add(ticks_ms(), self.timeout)
        while self._end is None:
            self.at.poll(1000 if progress else 200)
            if self._end is not None:
                break
            if progress:
                self.at.command(query, resp=query[2:-1].encode(), on_line=self._query_line)
                n = self._got
                if n != last:  # progress moves the deadline
                    last = n
                    deadline = ticks_add(ticks_ms(), self.timeout)
                    if n >= 0:
                        progress(n, None)
            if ticks_diff(deadline, ticks_ms()) <= 0:
                raise OSError(errno.ETIMEDOUT, "%s: no result within %d ms"
                              % (cmd, self.timeout))
        self._result(cmd)
        return self._size

    def _query_line(self, line):
        # "+FTPGETTOFS: 1,<rcvlen>,<writelen>" / "+FTPPUTFRMFS: 1,<putLength>" under
        # way, "...: 0" idle; the session's URC ("0,<total>", "<error>") may come
        # in the middle of the query and is passed on
        a = line.int(0, -1)
        if a == 1:
            self._got = line.int(1, -1)
        elif a != 0 or line.nfields() > 1:
            self._on_urc(line)

    # ---- one-command sessions
    def size(self, remote):
        """File size in bytes (AT+FTPSIZE, 12.24)."""
        self._names(remote)
        self._begin(_SIZE, "AT+FTPSIZE")
        self._result("AT+FTPSIZE")
        return self._size

    def delete(self, remote):
        """Delete a file on the server (AT+FTPDELE, 12.27)."""
        self._names(remote)
        self._begin(_DELE, "AT+FTPDELE")
        self._result("AT+FTPDELE")

    def mkdir(self, path):
        """Create a directory on the server (AT+FTPMKD, 12.14)."""
        self._dir(_MKD, "AT+FTPMKD", path)

    def rmdir(self, path):
        """Remove a directory on the server (AT+FTPRMD, 12.15)."""
        self._dir(_RMD, "AT+FTPRMD", path)

    def _dir(self, kind, cmd, path):
        path = at_string(path, "remote directory", 255, empty=False)  # before anything is sent
        self._configure()
        # 12.14 / 12.15: the directory is the one AT+FTPGETPATH names
        self.at.command('AT+FTPGETPATH="%s"' % path)
        self._begin(kind, cmd)
        self._result(cmd)

    def state(self):
        """1 while the module runs an FTP session, else 0 (AT+FTPSTATE, 12.25)."""
        lines = self.at.command("AT+FTPSTATE", resp=b"+FTPSTATE:")
        return int(lines[0].split(b":")[1]) if lines else 0

    def quit(self):
        """End the session under way (AT+FTPQUIT, 12.28); False if there was none."""
        self._want = -1
        try:
            self.at.command("AT+FTPQUIT")
        except ATError:
            return False  # 12.28: ERROR, nothing to end
        return True

    def close(self):
        """Stop taking the FTP URCs."""
        for p in _URCS:
            self.at.remove_urc(p)
