metadata(description="Quectel BG95/BG96/EC2x family (AT+QIOPEN sockets, AT+QSSL* module TLS).", version="0.1.0", license="MIT")

require("cellmodem")
package("cellmodem", files=(
    "dialects/quectel.py",
    "dialects/quectel_up.py",
    "dialects/quectel_tls.py",
), base_path="../../lib", opt=3)
