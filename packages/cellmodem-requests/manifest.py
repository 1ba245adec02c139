metadata(description="HTTP/1.1 client over cellmodem sockets, requests-style.", version="0.1.0", license="MIT")

require("cellmodem-httpbase")
package("cellmodem", files=("requests.py",), base_path="../../lib", opt=3)
