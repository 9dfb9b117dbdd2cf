"""TLS checks: raw ClientHello probes for groups and versions, and one full pyOpenSSL handshake."""
