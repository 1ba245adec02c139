metadata(description="SIMCom SIM7600/A7670 family (AT+CIPOPEN sockets, AT+CCH* module TLS).", version="0.1.0", license="MIT")

require("cellmodem")
package("cellmodem", files=(
    "dialects/sim7600.py",
    "dialects/sim7600_up.py",
    "dialects/sim7600_tls.py",
), base_path="../../lib", opt=3)
