"""The Yuge EC716S module's own file system (manual ch.8, AT+FS*): its flash (drive
C:, "/x" is "C:/x") and an SD card (D:) where one is fitted.

Reads and writes go in pieces of at most 10240 bytes (8.2, 8.4) straight between the
UART and the caller's buffer: AT+FSREAD with the "+FSREAD: <len>" header (8.3), so
the bytes are counted and may hold anything; AT+FSWRITE=<name>,1,<len>,<s> after its
"> " prompt. read(..., head=False) reads without the header, for text only: the
module then prints the data as lines, so CR and LF in it cannot be told apart from
the line ends (such a read raises OSError(EIO) rather than return wrong bytes).

Names go inside quotes (as the 8.12 examples send them): quotes, backslashes,
control and non-ASCII characters, and names over 64 bytes (8.1) are a ValueError
before anything reaches the UART. The module answers every failure (no such file,
exists already, directory not empty, disk full) with a plain ERROR: ATError.

Usage:
    from cellmodem.native.yuge_fs import FS
    fs = FS(modem)
    fs.mkdir("/logs"); fs.write("/logs/a.txt", b"1234567890")
    with fs.open("/logs/a.txt") as f:
        n = f.readinto(buf)
    fs.listdir("/logs"), fs.size("/logs/a.txt"), fs.free()
"""
import errno

from cellmodem import modem as _modem
from cellmodem.errors import ATError
from cellmodem.validate import at_string, payload

MAX_NAME = 64  # 8.1-8.11: "不超过 64 个字节"
MAX_IO = 10240  # 8.2 / 8.4 <filesize>: "不能大于 10240 个字节"
_WRITE_S = 10  # 8.4 <inputtime> (s) for one piece; we write it at once
_FINALS = ((b"TimeOut", False),)  # 8.4: the bytes did not come within <inputtime>


def yuge(modem):
    """modem, or the one connected last; ValueError if it is not a yuge modem,
    OSError(ENOTCONN) if there is none."""
    if modem is None:
        modem = _modem.current()
    if modem is None:
        raise OSError(errno.ENOTCONN, "no modem: pass modem= or call modem.connect() first")
    name = getattr(getattr(modem, "dialect", None), "NAME", None)
    if name != "yuge":
        raise ValueError("the Yuge module's own services need a yuge modem, not %s" % name)
    return modem


def fs_name(value, what="file name", maxlen=MAX_NAME):
    """value checked for a quoted AT+FS* argument (validate.at_string), not empty."""
    return at_string(value, what, maxlen, empty=False)


class FS:
    """The module's file system. modem: a yuge Modem (default: the one connected
    last); chunk: bytes per AT+FSREAD / AT+FSWRITE, 1-10240."""

    def __init__(self, modem=None, chunk=MAX_IO):
        if not isinstance(chunk, int) or not 0 < chunk <= MAX_IO:
            raise ValueError("chunk must be 1-%d bytes (manual 8.2/8.4)" % MAX_IO)
        self.modem = yuge(modem)
        self.at = self.modem.at
        self.chunk = chunk
        self._dst = None  # readinto target
        self._got = 0
        self._n = -1
        self._sink = self._sink_fn  # bound once: no allocation per read
        self._on_head = self._head_fn

    def _cmd(self, cmd, resp=None):
        return self.at.command(cmd, resp=resp)

    # ---- names and directories
    def create(self, name):
        """Create an empty file (8.1). ATError if its directory does not exist (the
        13.14 examples create an existing file again and get OK)."""
        self._cmd('AT+FSCREATE="%s"' % fs_name(name))

    def mkdir(self, path):
        """Create a directory (8.8); its parent must exist. ATError otherwise."""
        self._cmd('AT+FSMKDIR="%s"' % fs_name(path, "directory"))

    def rmdir(self, path):
        """Remove an empty directory (8.9). ATError otherwise."""
        self._cmd('AT+FSRMDIR="%s"' % fs_name(path, "directory"))

    def remove(self, name):
        """Delete a file (8.10). ATError if there is none."""
        self._cmd('AT+FSDEL="%s"' % fs_name(name))

    def ilistdir(self, path="/"):
        """[(name, 0x4000 directory | 0x8000 file)] in path (8.6), like os.ilistdir.
        "/" and "C:/" are the flash, "D:/" the SD card."""
        out = []
        for ln in self._cmd('AT+FSLS="%s"' % fs_name(path, "directory")):
            s = ln.decode()
            if s.endswith("\\"):  # 8.6 note: a trailing \ marks a directory
                out.append((s[:-1], 0x4000))
            else:
                out.append((s, 0x8000))
        return out

    def listdir(self, path="/"):
        """Names in path (8.6), directories included."""
        return [e[0] for e in self.ilistdir(path)]

    def size(self, name):
        """File size in bytes (AT+FSFSIZE, 8.11). ATError if there is no such file."""
        lines = self._cmd('AT+FSFSIZE="%s"' % fs_name(name), b"+FSFSIZE:")
        return _number(lines, "+FSFSIZE")

    def exists(self, name):
        """True if name is a file (asks AT+FSFSIZE)."""
        try:
            self.size(name)
            return True
        except ATError:
            return False

    def free(self):
        """Free bytes on the flash (AT+FSMEM, 8.7; "+FSMEM: 1304000 bytes" in 8.12)."""
        return _number(self._cmd("AT+FSMEM", b"+FSMEM:"), "+FSMEM")

    def drive(self, sd=False):
        """The drive letter (AT+FSDRIVE, 8.5): "C" for the flash, "D" for the SD card."""
        lines = self._cmd("AT+FSDRIVE=%d" % (1 if sd else 0), b"+FSDRIVE:")
        if not lines:
            raise ATError(None, "no +FSDRIVE line", "AT+FSDRIVE")
        return lines[0][9:].strip().strip(b'"').decode()

    # ---- data
    def write(self, name, data, append=False):
        """Write bytes (or str) to an existing file: replace its content, or add to
        its end. Pieces of `chunk` bytes with AT+FSWRITE (8.4); returns the count.
        Raises ATError (ERROR, TimeOut) from the module."""
        mv = payload(data)
        name = fs_name(name)
        if not append:
            self._replace(name)
        n = len(mv)
        i = 0
        while i < n:
            k = n - i if n - i < self.chunk else self.chunk
            self.at.send_data('AT+FSWRITE="%s",1,%d,%d' % (name, k, _WRITE_S), mv[i:i + k],
                              finals=_FINALS, timeout=_WRITE_S * 1000 + 5000)
            i += k
        return n

    def _replace(self, name):
        # 8.4 mode 0 "from the start" does not say the old tail goes: delete and
        # create, then every piece is appended (mode 1)
        try:
            self.remove(name)
        except ATError:
            pass  # there was none
        self.create(name)

    def _set_head(self, on):
        # 8.3: a module setting, back to its default after a restart (module_state
        # is emptied then)
        st = self.modem.module_state
        if st.get("fsreadhead") != on:
            self._cmd("AT+FSREADHEAD=%d" % on)
            st["fsreadhead"] = on

    def _head_fn(self, line):
        n = line.int(0, 0)  # "+FSREAD: <len>", then the bytes
        self._n = n
        self.at.engine.expect_raw(n, self._sink)

    def _sink_fn(self, buf, off, n):
        dst = self._dst
        i = self._got
        k = len(dst) - i
        if k > n:
            k = n
        if k > 0:
            dst[i:i + k] = buf[off:off + k]
        self._got = i + n

    def readinto(self, name, buf, pos=0):
        """Read up to len(buf) (at most `chunk`) bytes from pos into buf; returns the
        count. One AT+FSREAD (8.2) with the 8.3 header. pos must be inside the file
        (the module refuses pos >= size with ERROR: ATError)."""
        name = fs_name(name)
        mv = memoryview(buf)
        n = len(mv) if len(mv) < self.chunk else self.chunk
        if n <= 0:
            return 0
        self._set_head(1)
        self._dst = mv[:n]
        self._got = 0
        self._n = -1
        try:
            # 8.2: <mode> 0 reads from the start, 1 from <position>
            self.at.command('AT+FSREAD="%s",%d,%d,%d' % (name, 1 if pos else 0, n, pos),
                            resp=b"+FSREAD:", on_line=self._on_head)
        finally:
            self._dst = None
        if self._n < 0 or self._got > n:
            raise OSError(errno.EIO, "AT+FSREAD: %d bytes for %d asked" % (self._got, n))
        return self._got

    def read(self, name, n=-1, pos=0, head=True):
        """Bytes of name from pos: n of them, or to the end (n=-1). head=False reads
        without the 8.3 header (text only: OSError(EIO) if the data held CR or LF
        the module's lines would hide)."""
        size = self.size(name)
        if n < 0 or n > size - pos:
            n = size - pos
        if n <= 0:
            return b""
        if not head:
            return self._read_text(name, n, pos)
        out = bytearray(n)
        mv = memoryview(out)
        i = 0
        while i < n:
            k = self.readinto(name, mv[i:], pos + i)
            if not k:
                break
            i += k
        return bytes(mv[:i])

    def _read_text(self, name, n, pos):
        if n > MAX_IO:
            raise ValueError("a read without header takes at most %d bytes (8.2)" % MAX_IO)
        self._set_head(0)
        lines = self._cmd('AT+FSREAD="%s",%d,%d,%d' % (fs_name(name), 1 if pos else 0, n, pos))
        data = b"\r\n".join(lines)
        if len(data) != n:
            raise OSError(errno.EIO, "AT+FSREAD without header: %d bytes for %d (the data "
                                     "holds line ends; read with head=True)" % (len(data), n))
        return data

    def open(self, name, mode="rb"):
        """A file object: mode "r"/"rb" (read), "w"/"wb" (replace), "a"/"ab" (append)."""
        return File(self, name, mode)


class File:
    """A file on the module: read(n), readinto(buf), write(buf), seek/tell, close;
    each call moves at most fs.chunk bytes per AT command, straight to or from the
    caller's buffer."""

    def __init__(self, fs, name, mode):
        m = mode.replace("b", "")
        if m not in ("r", "w", "a"):
            raise ValueError("mode must be r, w or a (with or without b), not %r" % mode)
        self.fs = fs
        self.name = fs_name(name)
        self.mode = m
        self.closed = False
        if m == "r":
            self.size = fs.size(name)
        elif m == "w":
            fs._replace(self.name)
            self.size = 0
        else:
            if not fs.exists(self.name):
                fs.create(self.name)
            self.size = fs.size(self.name)
        self.pos = self.size if m == "a" else 0

    def _check(self, want):
        if self.closed:
            raise ValueError("I/O on a closed file")
        if (want == "r") != (self.mode == "r"):
            raise OSError(errno.EBADF, "file opened with mode %r" % self.mode)

    def readinto(self, buf):
        """Fill buf from the current position; returns the count, 0 at the end."""
        self._check("r")
        left = self.size - self.pos
        if left <= 0:
            return 0
        mv = memoryview(buf)
        if len(mv) > left:
            mv = mv[:left]
        n = self.fs.readinto(self.name, mv, self.pos)
        self.pos += n
        return n

    def read(self, n=-1):
        """Up to n bytes (all the rest with n=-1) as bytes; b"" at the end."""
        self._check("r")
        left = self.size - self.pos
        if n < 0 or n > left:
            n = left
        out = bytearray(n)
        mv = memoryview(out)
        i = 0
        while i < n:
            k = self.readinto(mv[i:])
            if not k:
                break
            i += k
        return bytes(mv[:i])

    def write(self, buf):
        """Append buf to the file; returns the count."""
        self._check("w")
        n = self.fs.write(self.name, buf, append=True)
        self.pos += n
        self.size += n
        return n

    def seek(self, pos):
        """Reading only: move to byte pos (0 <= pos <= size)."""
        self._check("r")
        if not 0 <= pos <= self.size:
            raise ValueError("seek outside the file")
        self.pos = pos
        return pos

    def tell(self):
        return self.pos

    def close(self):
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def _number(lines, what):
    """The first number after the colon of the first line ("+FSMEM: 1304000 bytes")."""
    if not lines:
        raise ATError(None, "no %s line" % what, "AT" + what)
    s = lines[0]
    i = s.find(b":") + 1
    while i < len(s) and s[i] == 32:
        i += 1
    j = i
    while j < len(s) and 48 <= s[j] <= 57:
        j += 1
    if j == i:
        raise ATError(None, "bad %s line: %s" % (what, s), "AT" + what)
    return int(s[i:j])
