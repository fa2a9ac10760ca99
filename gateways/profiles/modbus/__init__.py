"""Modbus TCP and RTU energy meters and devices: one folder of profiles (their transport
is gateways/transports/modbus.py).

- ``registers.py``: a register map (address, function, type, word order, scale, signal),
  how registers become numbers, and the ``modbus`` profile whose map is in the config;
- ``eastron.py``: the ``sdm120`` and ``sdm630`` profiles (Eastron DIN-rail meters);
"""

from gateways.profiles.modbus import eastron, registers

PROFILE = (registers.PROFILE, *eastron.PROFILE)
