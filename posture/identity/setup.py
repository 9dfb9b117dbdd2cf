"""First-run setup: the first administrator can be created only by someone who can read the
server's console, where a one-time code is printed, and only once, however many try at once."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from sqlalchemy.orm import Session

from kernel.errors import ValidationFailed
from posture.audit import Actor
from posture.identity.accounts import has_admin, insert_admin, lock_admins, prepare_admin
from posture.identity.one_time_codes import code_digest, new_code
from posture.storage.models import User

CODE_LENGTH = 20  # 100 random bits: guessing is hopeless, so no attempt counter is needed


@dataclass(frozen=True)
class SetupCode:
    """Only a digest is kept, so the code is never in memory dumps of the page state."""

    digest: bytes

    @classmethod
    def generate(cls) -> tuple[SetupCode, str]:
        shown = new_code(CODE_LENGTH, 5)
        return cls(code_digest(shown)), shown

    def matches(self, presented: str) -> bool:
        return hmac.compare_digest(self.digest, code_digest(presented))


def console_notice(code: str) -> str:
    return (
        "PoliceTech Assure has no administrator yet.\n"
        f"  First-run setup code: {code}\n"
        "  Enter it on the app's setup page, or create the administrator with "
        "`assure admin create`."
    )


def create_first_admin(
    session: Session,
    code: SetupCode,
    presented_code: str,
    email: str,
    display_name: str,
    password: str,
) -> User:
    if not code.matches(presented_code):
        raise ValidationFailed(
            "the setup code is not right: copy it from the server's console, where the app "
            "printed it when it started"
        )
    prepared = prepare_admin(email, display_name, password)
    # Serialised: of several people submitting at once, exactly one becomes the administrator.
    lock_admins(session)
    if has_admin(session):
        raise ValidationFailed("the first administrator has already been created; sign in")
    return insert_admin(session, Actor(label="first-run setup"), prepared)
