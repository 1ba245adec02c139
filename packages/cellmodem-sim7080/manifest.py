metadata(description="SIMCom SIM7080G/SIM7070/SIM7000 family (AT+CAOPEN sockets, module TLS).", version="0.1.0", license="MIT")

require("cellmodem")
package("cellmodem", files=(
    "dialects/sim7080.py",
    "dialects/sim7080_up.py",
    "dialects/sim7000.py",
    "dialects/sim7080_tls.py",
), base_path="../../lib", opt=3)
