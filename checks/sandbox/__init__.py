"""The check sandbox: every check runs in a child process that cannot reach past the egress
policy, cannot grow past its memory and CPU limits, and cannot take its caller down with it.
See docs/sandbox.md for the threats it answers."""
