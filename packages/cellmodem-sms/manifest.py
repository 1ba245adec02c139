metadata(description="SMS on every family: send (GSM 7-bit or UCS2, concatenated in PDU mode when long), receive through +CMTI in PDU mode.", version="0.1.0", license="MIT")

require("cellmodem")
package("cellmodem", files=("sms.py", "smspdu.py"), base_path="../../lib", opt=3)
