metadata(description="GNSS fixes on SIM7080/SIM7000, SIM7600 and Quectel modules (the SIM7080's data link paused for the fix).", version="0.1.0", license="MIT")

require("cellmodem")
package("cellmodem", files=("gnss.py",), base_path="../../lib", opt=3)
