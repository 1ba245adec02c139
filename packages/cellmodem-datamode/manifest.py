metadata(description="Transparent (data) mode: one TCP connection carried raw over the UART.", version="0.1.0", license="MIT")

require("cellmodem")
package("cellmodem", files=("datamode.py",), base_path="../../lib", opt=3)
