metadata(description="SMS in 27.005 text mode on every family: send (GSM 7-bit or UCS2), receive through +CMTI.", version="0.1.0", license="MIT")

require("cellmodem")
package("cellmodem", files=("sms.py",), base_path="../../lib", opt=3)
