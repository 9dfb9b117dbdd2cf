"""The audit events (sys.addaudithook) by which Python code starts another program. Guards
that must stop a check or an import from running programs refuse every one of them."""

PROCESS_EVENTS = (
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "pty.spawn",
)
