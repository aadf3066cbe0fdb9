"""The offline Polygon-compatible sandbox (`tickstock_sandbox`): its data, wire format, faults and the
detached server."""
