metadata(description="What the HTTP clients share: Response, Headers, URLs, the rare paths.", version="0.1.0", license="MIT")

require("cellmodem")
package("cellmodem", files=("httpbase.py", "_httprare.py",), base_path="../../lib", opt=3)
