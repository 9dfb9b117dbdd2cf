"""All tables, imported together so Alembic and create_all see one metadata."""

from posture.storage.models.assessments import Answer, AnswerEncoding, Assessment, Evidence
from posture.storage.models.audit import AuditEvent, AuditPersonal
from posture.storage.models.challenges import (
    Challenge,
    ChallengeAttachment,
    ChallengeEntry,
    JudgeAllocation,
    JudgeConflict,
)
from posture.storage.models.checks import CheckRun, CheckRunMilestone, Finding
from posture.storage.models.finding_lifecycle import TrackedFinding
from posture.storage.models.frameworks import (
    FrameworkVersion,
    ImportedCatalogue,
    ImportedProfile,
)
from posture.storage.models.identity import (
    ApiToken,
    MfaFactor,
    PasskeyChallenge,
    PasskeyCredential,
    PqChallenge,
    RecoveryCode,
    SignInAddress,
    UserSession,
)
from posture.storage.models.invitations import Invitation
from posture.storage.models.jobs import Job
from posture.storage.models.monitoring import Alert, MonitoredEndpoint
from posture.storage.models.notifications import (
    DigestEntry,
    NotificationDelivery,
    NotificationPreference,
    WebhookEndpoint,
)
from posture.storage.models.organisations import Membership, Organisation, User
from posture.storage.models.passports import Passport, PassportReliance
from posture.storage.models.posture import PostureSnapshot
from posture.storage.models.procurement import (
    Lot,
    LotApplication,
    ProcurementFramework,
    ShortlistRequirement,
    ShortlistVersion,
)
from posture.storage.models.products import Product, ProfileRaise
from posture.storage.models.risk import (
    Deployment,
    OutcomeException,
    RiskAcceptance,
    RiskAction,
    RiskEvidenceLink,
    RiskScenario,
    RiskTreatment,
)
from posture.storage.models.schedules import ExpiryReminder, ScheduleRun

__all__ = [
    "Alert",
    "Answer",
    "AnswerEncoding",
    "ApiToken",
    "Assessment",
    "AuditEvent",
    "AuditPersonal",
    "Challenge",
    "ChallengeAttachment",
    "ChallengeEntry",
    "CheckRun",
    "CheckRunMilestone",
    "Deployment",
    "DigestEntry",
    "Evidence",
    "ExpiryReminder",
    "Finding",
    "FrameworkVersion",
    "ImportedCatalogue",
    "ImportedProfile",
    "Invitation",
    "Job",
    "JudgeAllocation",
    "JudgeConflict",
    "Lot",
    "LotApplication",
    "Membership",
    "MfaFactor",
    "MonitoredEndpoint",
    "NotificationDelivery",
    "NotificationPreference",
    "Organisation",
    "OutcomeException",
    "PasskeyChallenge",
    "PasskeyCredential",
    "Passport",
    "PassportReliance",
    "PostureSnapshot",
    "PqChallenge",
    "ProcurementFramework",
    "Product",
    "ProfileRaise",
    "RecoveryCode",
    "RiskAcceptance",
    "RiskAction",
    "RiskEvidenceLink",
    "RiskScenario",
    "RiskTreatment",
    "ScheduleRun",
    "ShortlistRequirement",
    "ShortlistVersion",
    "SignInAddress",
    "TrackedFinding",
    "User",
    "UserSession",
    "WebhookEndpoint",
]
