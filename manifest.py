# Freeze cellmodem into MicroPython firmware: FROZEN_MANIFEST=/path/to/cellmodem/manifest.py
# freezes every package a board can use (all of packages/ but cellmodem-host). Only some
# of them, from your board's own manifest:
#   add_library("cellmodem", "/path/to/cellmodem/packages")
#   require("cellmodem-sim7080", library="cellmodem")
#   require("cellmodem-mqtt", library="cellmodem")
metadata(description="Cellular modems over AT commands: engine, sockets, HTTP, MQTT.", version="0.1.0",
         license="MIT")

add_library("cellmodem", "packages")
for name in ("cellmodem", "cellmodem-sim7080", "cellmodem-sim7600", "cellmodem-quectel",
             "cellmodem-yuge", "cellmodem-sim800", "cellmodem-mqtt", "cellmodem-requests",
             "cellmodem-aio", "cellmodem-sms", "cellmodem-psm", "cellmodem-gnss",
             "cellmodem-tls", "cellmodem-datamode", "cellmodem-yuge-services"):
    require(name, library="cellmodem")
