"""Clients built on a module's own protocol stack instead of cellmodem's sockets.

The module speaks the protocol itself (its AT+M* MQTT commands, say) and the library
only drives those commands; each client keeps the interface of its socket-based twin
so an application can switch by changing one import.
Usage: from cellmodem.native.yuge_mqtt import MQTTClient   # Yuge EC716S, manual ch.13
"""
