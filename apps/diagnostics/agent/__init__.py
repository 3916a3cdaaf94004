"""The edge capture agent: BLE instruments -> durable local queue -> the public API.

Runs on the technician's laptop, tablet or a Raspberry Pi; imports neither Django nor the
server's code beyond the pure instrument decoders, and talks to the server only over HTTP.
"""
