"""The transports, in one place: MQTT (mqtt.py, with its packet reader and socket),
OPC UA (opcua.py, browse, certificates, variant types), HTTP polling (http_poll.py),
Modbus (modbus.py), and the base the value transports share (value_gateway.py).
Profiles use them; they never import a profile's module at import time."""
