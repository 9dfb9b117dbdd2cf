"""TLS checks: raw ClientHello probes for groups and versions, the ClientHellos real clients send,
and one full pyOpenSSL handshake."""
