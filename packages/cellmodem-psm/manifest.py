metadata(description="PSM and eDRX per 3GPP 27.007 on the LTE-M/NB-IoT families (SIM7080/SIM7000, Quectel BG9x).", version="0.1.0", license="MIT")

require("cellmodem")
package("cellmodem", files=("psm.py",), base_path="../../lib", opt=3)
