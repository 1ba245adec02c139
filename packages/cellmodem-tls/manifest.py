metadata(description="TLS: host TLS over a cellmodem socket, module TLS settings, certificates.", version="0.1.0", license="MIT")

require("cellmodem")
package("cellmodem", files=("tls.py",), base_path="../../lib", opt=3)
