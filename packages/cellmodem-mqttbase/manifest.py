metadata(description="What the MQTT clients share: topic checks, states, MQTTException, the rare paths.", version="0.1.0", license="MIT")

require("cellmodem")
package("cellmodem", files=("mqttbase.py", "_mqttrare.py"), base_path="../../lib", opt=3)
