"""PrivateLink Governor's local AWS emulator: moto's server plus the PrivateLink
connection lifecycle, CloudWatch over RPC v2 CBOR, and fault injection."""
