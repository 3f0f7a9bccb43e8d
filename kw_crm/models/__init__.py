"""CRM models, one module per aggregate. Importing this package registers them all on
``kw_crm.db.Base.metadata``."""
from .activity import ACTIVITY_TYPES, Activity, Note
from .api_token import ApiToken
from .attachment import Attachment
from .audit import AuditEvent
from .automation import AutomationRun, AutomationStep
from .capture import CONVERSATION_STATUSES, CaptureReview, Conversation
from .contact import CONTACT_STATUSES, CONTACT_TYPES, Contact
from .contact_count import ContactCount
from .customer import LIFECYCLE_STAGES, Communication, CustomerProfile
from .deal import Deal, Stage
from .import_job import IMPORT_KINDS, IMPORT_STATUSES, ImportJob
from .job import JOB_STATUSES, Job
from .webhook import WebhookDelivery, WebhookEndpoint

__all__ = [
    "ACTIVITY_TYPES", "CONTACT_STATUSES", "CONTACT_TYPES", "CONVERSATION_STATUSES", "IMPORT_KINDS", "IMPORT_STATUSES",
    "JOB_STATUSES", "LIFECYCLE_STAGES", "Activity", "ApiToken", "Attachment", "AuditEvent", "AutomationRun",
    "AutomationStep", "CaptureReview", "Communication", "Contact", "ContactCount", "Conversation", "CustomerProfile", "Deal",
    "ImportJob", "Job", "Note", "Stage", "WebhookDelivery", "WebhookEndpoint",
]
