"""What every dialect shares: waiting for a result URC, the link state, network loss,
and the socket plumbing (link ids, data-waiting and close URCs, pushed payloads).

A dialect subclass sets its tables as class attributes and overrides the hooks
(sock_open, sock_send, sock_fetch, sock_close, ...); its data context's bring-up
(activate, deactivate) and ping are functions in the module UP names.
Usage: class SIM7080(Dialect): ICCID = ("AT+CCID", None)
"""
import errno

from cellmodem.compat import const, ticks_ms, ticks_diff, ticks_add
from cellmodem.errors import ATError, ATTimeout, ModemError
from cellmodem.modem import forget

# What must follow a counted payload (issue 19): a pulled one ends its line (CR LF)
# and the next line (the command's OK, or a URC) starts with CR LF (V.250 verbose
# result format, ATV1); a pushed one is followed by CR LF, its own line end or the
# start of the next line (SIM7600's +IPD data has no line end of its own); where it
# is its own, the next line's CR LF is checked too when it comes right behind it.
_PULL_TRAILER = const(b"\r\n\r\n")
_PUSH_TRAILER = const(b"\r\n")


class Dialect:
    NAME = "?"
    ICCID = ("AT+CCID", "+CCID:")  # command, answer prefix (None: bare line)
    TIMEOUTS = {}  # extra maximum response times, ms, by command name
    DETAILS = ()  # lines that give a following plain ERROR its text
    LINK_LOST = ()  # URC prefixes that mean the data link dropped
    PUSH_LINE_END = False  # a pushed payload ends with its own CR LF (else the next reply's starts it)
    CGEV_CID = 1  # the 3GPP context id (+CGEV) of the data context the family uses
    REBOOTED = (b"RDY",)  # power-on banner lines: the module restarted behind our back
    LINKS = 0  # link ids 0..LINKS-1
    MAX_SEND = 1460  # largest payload of one send command
    MAX_RECV = 1460  # largest payload one pull returns
    RX_MODES = ("buffered",)  # receive modes the family has; the first is the default
    UP = None  # the module in cellmodem.dialects with activate, deactivate and ping
    SERVER = False  # has a TCP server (listen/accept)
    TLS = None  # module TLS: the module holding its commands (cellmodem.tls), if any
    # Power and sleep (Modem.power_down/set_functionality/sleep/wake/power_features):
    #   "power_down": (command, line that ends it or None for OK, OK comes first, max ms)
    #   "sleep": the UART sleep command (value 1 enables it), "uart_wakes": a line on
    #   the UART wakes the module (else only DTR low does), "wake_ms": time from DTR
    #   low until it answers, "cfun": the AT+CFUN levels offered. A missing key: the
    #   family lacks the feature (OSError EOPNOTSUPP).
    POWER = {}
    # Transparent (data) mode, as data for cellmodem.datamode (None: the family has
    # none). "guard": ms of silence the module wants before and after "+++";
    # "open": the command that opens in data mode, formatted with (link id, host,
    # port), or "switch": the one that switches a connection the ordinary sock_open
    # made; "setup": commands before it; "ok_first": OK comes before CONNECT;
    # "finals": its results (default CONNECT FAIL / CONNECT); "wide": the mode is a
    # setting of the whole module, switched with `transparent` and the data context
    # set up again, on link 0, no other socket open; "drain": after "+++" the
    # connection's data stays readable with sock_fetch.
    DATA = None
    transparent = False  # "wide" families: activate() sets the module up for data mode
    NUDGE = 0  # ms of quiet after which nudge() coaxes out a held-back result (0: never)
    DNS_MS = 20000  # the +CDNSGIP answer's maximum time
    HOST_MAX = 253  # longest host name AT+CDNSGIP takes (a DNS name's limit)

    def __init__(self, modem):
        self.modem = modem
        self.got = {}  # one-shot results by key (expect/post/result below)
        self.at = modem.at
        self.link_up = False
        self.at.timeouts.update(self.TIMEOUTS)
        self.at.engine.detail_prefixes = self.DETAILS
        self.push = False  # direct push receive mode (set by activate from modem.rx_mode)
        self._pulling = None  # pull(): the Link the read in flight is for,
        self._asked = 0  # and the count it asked for (its answer's count: got[b"pulled"])
        self._cmds = {}  # command_for(): format -> [link id, count, command]
        self._ready = self._is_ready  # result() waits on these (no closure per wait)
        self._wkey = self._wstop = self._wlink = None
        self.pull_line = None  # on_line for a pull's answer line: a bound method kept
        # here, as one made per pull would allocate
        for prefix in self.LINK_LOST:
            self.at.urc(prefix, self._on_link_lost)
        for prefix in self.REBOOTED:
            self.at.urc(prefix, self._on_rebooted)
        self.at.urc(b"+CGEV:", self._on_cgev)

    def _on_cgev(self, line):
        # 3GPP TS 27.007 10.1.19 packet-domain events: "+CGEV: ME PDN DEACT <cid>" (the
        # module's own), "+CGEV: NW PDN DEACT <cid>" (the network's); Yuge reports the
        # network's as "EPS PDN DEACT <cid>" (its manual 6.7/6.8). That SIM7600/A7670 and
        # Quectel modules print them unasked is public knowledge (users' logs), not our
        # manuals. "... PDN ACT <cid>" needs nothing: connect() reads the state itself.
        # Only a deactivation of our context, while it is up, is a link event (our own
        # disconnect() has set link_up False before the module reports it).
        if not self.link_up:
            return
        buf = line.buf
        e = line.end
        i = e
        while i > line.start and 48 <= buf[i - 1] <= 57:
            i -= 1
        if i == e or i - line.start < 12 or buf[i - 1] != 32:
            return
        if not (buf.startswith(b"PDN DEACT", i - 10) and int(bytes(buf[i:e])) == self.CGEV_CID):
            return
        self._on_cgev_lost(line)

    def _on_cgev_lost(self, line):
        # a family whose own loss URC sets more state points this at that handler
        self._on_link_lost(line)

    def _on_link_lost(self, line):
        self.link_up = False
        self.modem.link_lost(line.str())

    def _on_rebooted(self, line):
        # A banner line outside bring-up: the module restarted (power glitch, watchdog,
        # AT+CFUN=1,1 from elsewhere). Everything it held is gone; a command in flight
        # will never be answered, so end it now instead of waiting out its timeout.
        self.link_up = False
        self.at.engine.abort(ModemError("the modem restarted (%s)" % line.str()))
        self.modem.rebooted(line.str())

    # ---- links: the module's connection ids ----
    def new_link_id(self):
        """The lowest link id not in use; OSError(ENOMEM) when every one is."""
        links = self.modem.links
        for i in range(self.LINKS):
            if i not in links:
                return i
        raise OSError(errno.ENOMEM, "all %d links of the module are in use" % self.LINKS)

    def claim(self, link):
        """Give link the lowest free id and register it before the open command goes
        out: URCs for it may arrive in the same read as the command's result."""
        link.id = self.new_link_id()
        self.modem.links[link.id] = link
        return link.id

    def release(self, link):
        """Forget link's id (after a failed open or a close)."""
        if link.id is not None and self.modem.links.get(link.id) is link:
            del self.modem.links[link.id]
        link.open = False

    def link(self, line, field=0):
        """The Link whose id is the line's field-th argument, or None."""
        return self.modem.links.get(line.int(field, -1))

    def on_data_waiting(self, line, field=0):
        """URC handler: the module holds data for a link (buffered mode)."""
        link = self.link(line, field)
        if link is not None:
            link.pending = True

    def on_peer_closed(self, line, field=0):
        """URC handler: the peer closed a link (data may still wait in the module)."""
        link = self.link(line, field)
        if link is not None:
            link.peer_closed()
            if self.push:
                link.pending = False  # pushed data is already with us

    def push_payload(self, link, n):
        """A pushed payload of n bytes for link follows: take it into its ring (or
        drop it, if the link is unknown or has no ring - a listening link - so the
        parser stays in step)."""
        eng = self.at.engine
        own = self.PUSH_LINE_END
        # where the payload's own CR LF follows it (Quectel), that comes at once and the
        # next line's CR LF is checked too if it comes soon (Engine.frame must=), and
        # the bytes wait for the check: none of a later reply is ever readable
        trailer = _PULL_TRAILER if own else _PUSH_TRAILER
        if link is None or link.ring is None:
            eng.frame(trailer, None, False, own, 2)
            eng.expect_raw(n, _discard)
        else:
            eng.frame(trailer, link._framed, False, own, 2)
            eng.expect_raw(n, link.begin_payload(n, own))

    def pull(self, link, n, cmd, resp):
        """Buffered mode: ask the module with cmd (bytes; %d link id, %d count) for up
        to n bytes (at most MAX_RECV) it holds for link; the answer's handler (resp
        lines go to self.pull_line, if set) hands them over with pulled(). Returns the
        count the answer announced. link.pending is cleared before asking: a
        data-waiting URC parsed with the answer sets it again, and must not be lost by
        clearing it afterwards."""
        if n > self.MAX_RECV:
            n = self.MAX_RECV
        self._pulling = link
        self._asked = n
        self.expect(b"pulled")
        link.pending = False
        try:
            self.at.command(self.command_for(cmd, link.id, n), resp=resp,
                            on_line=self.pull_line)
        finally:
            self._pulling = None
            n = self.got.pop(b"pulled", None)
        return n or 0

    def command_for(self, fmt, lid, n):
        """fmt % (lid, n) (fmt bytes), the same object as the last time with the same
        fmt and numbers: a stream's reads and sends repeat one command, which then
        costs no allocation (BENCHMARKS.md section 3)."""
        c = self._cmds.get(fmt)
        if c is None:
            c = self._cmds[fmt] = [-1, -1, None]
        if c[0] != lid or c[1] != n:
            c[0] = lid
            c[1] = n
            c[2] = fmt % (lid, n)
        return c[2]

    def pulled(self, n, lid=-1):
        """From a pull answer's handler: n bytes follow, for the link the pull in flight
        reads for (lid: the link id the answer names, -1 none). They go into its ring
        with their framing checked (Engine.frame: a short payload fails the link with
        EIO). Returns that link; None for bytes nobody asked for, which are skipped to
        keep the parser in step."""
        link = self._pulling
        if link is None or lid >= 0 and lid != link.id:
            self.push_payload(None, n)
            return None
        self.post(b"pulled", n)
        eng = self.at.engine
        eng.frame(_PULL_TRAILER, link._framed, True)
        eng.expect_raw(n, link.begin_payload(n))
        return link

    # ---- socket hooks a dialect provides ----
    def sock_open(self, link, host, port, tls=False):
        """Open link (TCP or UDP) to host:port; sets link.id and link.open.
        Raises OSError with the module's result code in the message."""
        raise OSError(errno.EOPNOTSUPP, "%s: sockets not supported" % self.NAME)

    def sock_listen(self, link, port):
        raise OSError(errno.EOPNOTSUPP, "%s has no TCP server" % self.NAME)

    def sock_send(self, link, mv):
        """Send up to MAX_SEND bytes of mv; returns how many the module accepted."""
        raise OSError(errno.EOPNOTSUPP, "%s: sockets not supported" % self.NAME)

    def sock_fetch(self, link, n):
        """Buffered mode: pull up to n bytes the module holds into link's ring;
        returns the count. Clear link.pending BEFORE sending the read command (a
        data-waiting URC parsed with its answer sets it again) and set it after a
        read that filled n (the module may hold more)."""
        raise OSError(errno.EOPNOTSUPP, "%s: sockets not supported" % self.NAME)

    def sock_close(self, link):
        raise OSError(errno.EOPNOTSUPP, "%s: sockets not supported" % self.NAME)

    # ---- one-shot results: the one way a dialect gets a result URC's value ----
    # expect(key) before the command, post(key, value) from the URC handler, result(key)
    # to wait and take it (got.pop(key, None) takes one without waiting; got.get(key, 0)
    # is None while it is awaited). A key is the result's prefix (one per module) or a
    # small int (a result kind plus the link id: no allocation on a send's path). A
    # result nobody awaits (late, or for a command we gave up on) is dropped.
    def expect(self, key):
        """Await the result for key: post(key, ...) counts from now until it is taken."""
        self.got[key] = None

    def post(self, key, value):
        """From a URC handler: value (not None) is the result for key if one is awaited
        and none came yet (the first wins). Returns whether it was taken."""
        got = self.got
        if got.get(key, 0) is None:
            got[key] = value
            return True
        return False

    def result(self, key, timeout, what, cmd=None, nudge=0, stop=None, link=None):
        """Wait for the result posted for key since expect(key), and take it; None if
        stop() came true or link failed first (the link or the network went away).
        Pumps the port, calling nudge() after every quiet nudge ms (0: never): some
        firmware holds a result URC back until the next command's reply (sim option
        open_result_in_reply). Raises ATTimeout after timeout ms, ModemError at once
        if the module restarted since the last connect() (the answer it owed will
        never come); either way key is no longer awaited afterwards. Allocates
        nothing while it waits (a send waits for its result: BENCHMARKS.md section 3)."""
        k0 = self._wkey
        s0 = self._wstop
        l0 = self._wlink
        self._wkey = key
        self._wstop = stop
        self._wlink = link
        got = self.got
        end = ticks_add(ticks_ms(), timeout)
        try:
            while True:
                left = ticks_diff(end, ticks_ms())
                part = 0 < nudge < left
                try:
                    self.at.wait_until(self._ready, nudge if part else max(left, 0), what, cmd)
                    break
                except ATTimeout:
                    if not part:
                        raise ATTimeout(cmd, timeout, what)
                    self.nudge()
            if self.modem._resync and got.get(key) is None:
                # restarted since the last connect(): the answer is never coming
                raise ModemError("the modem restarted while waiting for %s" % what)
        finally:
            self._wkey = k0
            self._wstop = s0
            self._wlink = l0
            r = got.pop(key, None)
        return r

    def _is_ready(self):
        # result()'s condition, as one bound method kept in self._ready
        if self.got.get(self._wkey) is not None or self.modem._resync:
            return True
        if self._wstop is not None and self._wstop():
            return True
        return self._wlink is not None and self._wlink.error is not None

    def nudge(self):
        try:
            self.at.command("AT")
        except ATError:
            pass

    def _on_dns(self, line):
        # +CDNSGIP: 1,"<domain>","<ip>" or +CDNSGIP: 0,<dns error code> (SIM7080 and
        # SIM7600 L1131 manuals; Yuge 9.21)
        self.post(b"+CDNSGIP:", line.field(2) if line.int(0, 0) == 1 else "error %d" % line.int(1, -1))

    def resolve(self, host):
        """The IPv4 address (str) of host, by the module's DNS (AT+CDNSGIP, whose
        answer comes in its reply or after OK). OSError(EHOSTUNREACH) if unknown."""
        if len(host) > self.HOST_MAX:
            raise ValueError("host name is longer than %d characters" % self.HOST_MAX)
        self.expect(b"+CDNSGIP:")
        cmd = 'AT+CDNSGIP="%s"' % host  # checked by Modem.resolve
        try:
            self.at.command(cmd, resp=b"+CDNSGIP:", on_line=self._on_dns)
        except ATError as e:
            if self.got.get(b"+CDNSGIP:", 0) is None:
                self.got.pop(b"+CDNSGIP:", None)
                raise OSError(errno.EHOSTUNREACH, "cannot resolve %s: %s" % (host, e))
        r = self.result(b"+CDNSGIP:", self.DNS_MS, "+CDNSGIP", cmd, self.NUDGE)
        if r.startswith("error"):
            raise OSError(errno.EHOSTUNREACH, "cannot resolve %s: +CDNSGIP %s" % (host, r))
        return r

    # ---- the data context and ping: the family's UP module (cellmodem.dialects.<UP>),
    # loaded for each call and dropped after it (modem.forget), so a connected board
    # keeps none of that code (issue 20) ----
    def _up(self, name, *args):
        try:
            f = getattr(__import__("cellmodem.dialects." + self.UP, None, None, (name,)),
                        name, None)
            if f is None:
                raise OSError(errno.EOPNOTSUPP, "%s has no %s command" % (self.NAME, name))
            return f(self, *args)
        finally:
            forget("dialects." + self.UP)

    def activate(self, apn, user, password, timeout):
        """Bring the data context up with apn (str) within timeout ms; its IP (str).
        NetworkError (cellmodem._rare.context_error) when the module does not
        activate it."""
        return self._up("activate", apn, user, password, timeout)

    def deactivate(self):
        """Take the data context down (not an error when it is down already)."""
        self._up("deactivate")

    def ping(self, host, timeout=10000):
        """Round-trip time in ms of one ping to host. OSError on no reply,
        OSError(EOPNOTSUPP) when the family has no ping command."""
        return self._up("ping", host, timeout)


# A family with module TLS has cert_upload(name, data, kind), cert_list(),
# cert_delete(name) hooks (cellmodem.tls.cert_* call them); the others raise this.
_NO_MODULE_TLS = ("%s: module TLS is not supported in this family; use host TLS "
                  "(cellmodem.tls.context() and tls.wrap(), ssl= / context= in mqtt "
                  "and requests)")


def _discard(buf, off, n):
    pass


def coded(errnos, texts, i):
    """(errno, text) of entry i of a family's code table, or None when it has none:
    errnos a bytes of errno values (0 where no code is), texts the entries' words
    joined by "|". Two constants rather than a dict of tuples: a board's heap pays for
    every small object and name of a table when its module loads, and a failure is
    the only time one is read (quectel's 25 codes: 2.2 KiB as a dict, wasm32 from .mpy)."""
    if 0 <= i < len(errnos) and errnos[i]:
        return errnos[i], texts.split("|")[i]
    return None
