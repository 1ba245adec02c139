metadata(description="asyncio face: AsyncModem, AsyncSocket and the async MQTT/HTTP/data-mode wrappers.", version="0.1.0", license="MIT")

require("cellmodem")
package("cellmodem", files=("aio.py",), base_path="../../lib", opt=3)
