metadata(description="SIMCom SIM800/SIM900 family (AT+CIPSTART sockets; reuses the Yuge dialect it resembles).", version="0.1.0", license="MIT")

require("cellmodem-yuge")
package("cellmodem", files=(
    "dialects/sim800.py",
), base_path="../../lib", opt=3)
