metadata(description="Host-only tools: serial ports for unix MicroPython, the REPL passthrough, the fake UART.", version="0.1.0", license="MIT")

require("cellmodem")
package("cellmodem", files=(
    "ports.py",
    "passthrough.py",
    "fakeuart.py",
), base_path="../../lib", opt=3)
