metadata(description="MQTT 3.1.1 client over cellmodem sockets.", version="0.1.0", license="MIT")

require("cellmodem-mqttbase")
package("cellmodem", files=("mqtt.py", "_mqttopen.py"), base_path="../../lib", opt=3)
