"""How large an objects file (checks/api/authz_objects.py) may be: its own module, so the
sandbox's request model can bound the text it carries without loading the parser."""

MAX_BYTES = 64 * 1024
