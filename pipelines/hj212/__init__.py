"""HJ 212-2017 (and legacy HJ/T 212-2005) online-monitoring packets: protocol, landing log, codec.

- `protocol`: CRC variants, packet encoding and the incremental `FrameScanner` used by the gateway;
- `segments`: the landing log (segment files written by the gateway, read by the codec);
- `codec`: the vectorised decoder of sealed segments into typed long rows.
"""
