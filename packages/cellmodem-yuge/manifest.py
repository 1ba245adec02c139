metadata(description="Yuge EC716S/YM310 family (AT+CIPSTART sockets, its TLS settings).", version="0.1.0", license="MIT")

require("cellmodem")
package("cellmodem", files=(
    "dialects/yuge.py",
    "dialects/yuge_up.py",
    "dialects/yuge_server.py",
    "native/__init__.py",
    "native/yuge_tls.py",
), base_path="../../lib", opt=3)
