"""Granular patient consent: scoped, purpose-bound, time-bound, revocable grants with deny
provisions on ConsentRegistry; EIP-712 signed grants relayed by anyone; an on-chain access
audit trail; M-of-N break-glass with mandatory review; FHIR R4 Consent import/export.

Revocation stops future key deliveries and new (recorded) accesses; it cannot recall
data a grantee already decrypted.
"""

from medchain.consent.client import (
    AuditEvent,
    Check,
    ConsentClient,
    UnknownEpisode,
    WrongChainDID,
    audit_csv,
    consent_typed_data,
    read_signed_change,
    role_name,
    signed_kind,
)
from medchain.consent.codes import (
    ACTIONS,
    ANY_SCOPE_LABEL,
    ETREAT,
    PURPOSES,
    READ,
    SHARE,
    TREAT,
    WRITE,
    actions_mask,
    purpose_index,
    purposes_mask,
    scope_id,
    scope_label,
)
from medchain.consent.fhir import UnsupportedConsent, export_consent, import_consent
from medchain.consent.model import OPEN_END, Grant
from medchain.consent.notes import Commitment, NoteStore

__all__ = [
    "ACTIONS",
    "ANY_SCOPE_LABEL",
    "ETREAT",
    "OPEN_END",
    "PURPOSES",
    "READ",
    "SHARE",
    "TREAT",
    "WRITE",
    "AuditEvent",
    "Check",
    "Commitment",
    "ConsentClient",
    "Grant",
    "NoteStore",
    "UnknownEpisode",
    "UnsupportedConsent",
    "WrongChainDID",
    "actions_mask",
    "audit_csv",
    "consent_typed_data",
    "export_consent",
    "import_consent",
    "purpose_index",
    "purposes_mask",
    "read_signed_change",
    "role_name",
    "scope_id",
    "scope_label",
    "signed_kind",
]
