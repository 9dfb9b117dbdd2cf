"""Backups of a whole estate in one archive, and their restore into an empty data folder.

`take.py` writes a backup, `restore.py` restores one; `manifest.py` says what an archive holds.
Nothing here imports SQLAlchemy unless the database is PostgreSQL or a restore is checked, so
`assure db backup` on SQLite stays light.
"""
