metadata(description="The Yuge module's own services: file system, FTP, HTTP, MQTT, device.", version="0.1.0", license="MIT")

require("cellmodem-yuge")
require("cellmodem-mqttbase")
require("cellmodem-httpbase")
package("cellmodem", files=(
    "native/yuge_fs.py",
    "native/yuge_ftp.py",
    "native/yuge_http.py",
    "native/yuge_mqtt.py",
    "native/yuge_services.py",
), base_path="../../lib", opt=3)
