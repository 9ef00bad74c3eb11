"""The vocabulary shared by the consent contract, SDK and FHIR mapping: action bits,
HL7 PurposeOfUse codes (bit i of the purposes mask = PURPOSES[i]) and data scopes
(a label such as "Observation" or "category:laboratory", encoded by
`medchain.codec.scope_code` exactly as records are anchored; "*" is every scope).
"""

from __future__ import annotations

from collections.abc import Iterable

from medchain.codec import scope_code as scope_code
from medchain.codec import scope_label as scope_label
from medchain.errors import InvalidInput

READ, WRITE, SHARE = 1, 2, 4
ACTIONS: dict[str, int] = {"read": READ, "write": WRITE, "share": SHARE}
ALL_ACTIONS = READ | WRITE | SHARE

# HL7 v3 ActReason, PurposeOfUse value set (terminology.hl7.org). The order is part of the
# on-chain encoding: never reorder, only append (at most 32 codes fit the uint32 mask).
PURPOSES: tuple[str, ...] = (
    "TREAT",  # treatment
    "ETREAT",  # emergency treatment (break-glass)
    "HPAYMT",  # healthcare payment
    "HOPERAT",  # healthcare operations
    "HRESCH",  # healthcare research
    "PUBHLTH",  # public health
    "HMARKT",  # healthcare marketing
    "PATRQT",  # patient requested
    "FAMRQT",  # family requested
    "PWATRNY",  # power of attorney
    "CAREMGT",  # care management
    "COC",  # coordination of care
    "CLINTRCH",  # clinical trial research
    "HDIRECT",  # directory
    "HLEGAL",  # legal
    "HQUALIMP",  # quality improvement
    "HSYSADMIN",  # system administration
    "HTEST",  # test health data
    "DISASTER",  # disaster relief
)
PURPOSE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
TREAT, ETREAT = PURPOSES.index("TREAT"), PURPOSES.index("ETREAT")
ALL_PURPOSES = (1 << len(PURPOSES)) - 1

ANY_SCOPE_LABEL = "*"
RESOURCE_TYPE_SYSTEM = "http://hl7.org/fhir/resource-types"
OBSERVATION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"

# Resource types a patient's record typically holds (FHIR R4), and the observation categories.
RESOURCE_TYPES: tuple[str, ...] = (
    "AllergyIntolerance",
    "CarePlan",
    "Claim",
    "Composition",
    "Condition",
    "Coverage",
    "DiagnosticReport",
    "DocumentReference",
    "Encounter",
    "ExplanationOfBenefit",
    "FamilyMemberHistory",
    "ImagingStudy",
    "Immunization",
    "MedicationAdministration",
    "MedicationDispense",
    "MedicationRequest",
    "MedicationStatement",
    "MolecularSequence",
    "Observation",
    "Patient",
    "Procedure",
    "QuestionnaireResponse",
    "ResearchSubject",
    "ServiceRequest",
    "Specimen",
)
OBSERVATION_CATEGORIES: tuple[str, ...] = (
    "social-history",
    "vital-signs",
    "imaging",
    "laboratory",
    "procedure",
    "survey",
    "exam",
    "therapy",
    "activity",
)
KNOWN_SCOPES: tuple[str, ...] = (
    ANY_SCOPE_LABEL,
    *RESOURCE_TYPES,
    *(f"category:{c}" for c in OBSERVATION_CATEGORIES),
)


# The scope encoding lives in medchain.codec (records anchor under the same codes). These
# names stay importable here because the consent API, tests and benches use them widely.
scope_id = scope_code


def actions_mask(names: Iterable[str] | str | int) -> int:
    """Bitmask for action names ("read", "write", "share", "all" or comma-separated)."""
    if isinstance(names, int):
        mask = names
    else:
        parts = names.split(",") if isinstance(names, str) else list(names)
        mask = 0
        for name in (p.strip().lower() for p in parts):
            if name == "all":
                mask |= ALL_ACTIONS
            elif name in ACTIONS:
                mask |= ACTIONS[name]
            else:
                raise InvalidInput(f"unknown action '{name}' (expected read, write, share, all)")
    if not 0 < mask <= ALL_ACTIONS:
        raise InvalidInput(f"actions mask {mask} is not a non-empty subset of read|write|share")
    return mask


def action_names(mask: int) -> list[str]:
    return [name for name, bit in ACTIONS.items() if mask & bit]


def purpose_index(code: str | int) -> int:
    """Index (bit) of a PurposeOfUse code."""
    if isinstance(code, int):
        if not 0 <= code < len(PURPOSES):
            raise InvalidInput(f"purpose index {code} out of range 0..{len(PURPOSES) - 1}")
        return code
    upper = code.strip().upper()
    if upper not in PURPOSES:
        raise InvalidInput(
            f"unknown purpose of use '{code}' (expected one of {', '.join(PURPOSES)})"
        )
    return PURPOSES.index(upper)


def purposes_mask(codes: Iterable[str | int] | str | int) -> int:
    """Bitmask for PurposeOfUse codes ("TREAT,HRESCH", "all", or a list)."""
    if isinstance(codes, int):
        if not 0 < codes <= ALL_PURPOSES:
            raise InvalidInput(f"purposes mask {codes} is empty or has unknown bits")
        return codes
    parts = codes.split(",") if isinstance(codes, str) else list(codes)
    mask = 0
    for code in parts:
        if isinstance(code, str) and code.strip().lower() == "all":
            mask |= ALL_PURPOSES
        else:
            mask |= 1 << purpose_index(code)
    if mask == 0:
        raise InvalidInput("at least one purpose of use is needed")
    return mask


def purpose_names(mask: int) -> list[str]:
    return [code for i, code in enumerate(PURPOSES) if mask >> i & 1]
