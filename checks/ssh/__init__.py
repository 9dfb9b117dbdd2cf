"""The SSH check: the server's KEXINIT, the key exchange each real client would negotiate from it
(the client's order decides), the host keys read from real key exchanges, strict key exchange
(Terrapin), and weak ciphers and MACs.

probe.py is its only I/O (over transport.py and kex.py); judge.py is the pure combine step;
the client lists and what counts as weak are data (checks/data/ssh_clients.yaml, ssh_policy.yaml,
and dh_sizes.yaml for Diffie-Hellman groups, shared with the TLS check).
"""

from checks.ssh.check import run_ssh_check
from checks.ssh.judge import combine
from checks.ssh.transport import NAME_LISTS, KexInit, parse_kexinit
from checks.ssh.wire import SshProtocolError

__all__ = ["NAME_LISTS", "KexInit", "SshProtocolError", "combine", "parse_kexinit", "run_ssh_check"]
