metadata(description="Quectel BG95/BG96/EC2x family (AT+QIOPEN sockets).", version="0.1.0", license="MIT")

require("cellmodem")
package("cellmodem", files=("dialects/quectel.py",), base_path="../../lib", opt=3)
