# Freeze cellmodem into MicroPython firmware: FROZEN_MANIFEST=/path/to/cellmodem/manifest.py
metadata(description="Cellular modems over AT commands: engine, sockets, HTTP, MQTT.", version="0.1.0",
         license="MIT")

package("cellmodem", base_path="lib", opt=3)
